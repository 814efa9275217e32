"""Log in (limited attempts), one-time sign-in links and password resets by e-mail, log
out (ending every session of the account), join a group from an invitation."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from .. import clock
from ..extensions import db
from ..models import User
from ..services import ServiceError, ratelimit
from ..services.accounts import (
    MIN_PASSWORD_LENGTH,
    accept_invitation,
    find_invitation,
    find_user_by_email,
    normalise_email,
)
from ..services.outbox import queue
from ..services.passwords import check_login, hash_password
from ..services.permissions import check_invitation_addressee
from ..services.ratelimit import Limit, account_key
from ..services.tokens import LIFETIMES, end_sessions, find_token, issue_token, use_token
from .forms import Email, JoinForm, LoginForm
from .limits import client_address, counter, limits_on
from .signin import sign_in, sign_out

bp = Blueprint("auth", __name__)

WINDOW = timedelta(minutes=15)
# Failed logins: per account whatever the address, per address whatever the account, and
# for the whole site (a spread-out attack still cannot cost more than this many hashes).
LOGIN_ACCOUNT = Limit("login-account", 10, WINDOW)
LOGIN_ADDRESS = Limit("login-address", 30, WINDOW)
LOGIN_ALL = Limit("login-all", 300, WINDOW)
# E-mails asked for (sign-in links, resets): nobody's mailbox is flooded from here.
MAIL_ACCOUNT = Limit("mail-account", 3, timedelta(hours=1))
MAIL_ADDRESS = Limit("mail-address", 10, timedelta(hours=1))


class EmailForm(FlaskForm):
    email = EmailField(
        _l("E-mail"),
        validators=[DataRequired(), Email(), Length(max=254)],
        filters=[lambda v: v.strip() if v else v],
    )


class NewPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)])


class ConfirmForm(FlaskForm):
    """Only the CSRF token: a link opened by a mail scanner signs nobody in."""


def _safe_next(target: str | None) -> str:
    """Follow `next` only to a path on this site."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("main.home")


def absolute_url(endpoint: str, **values) -> str:
    """A link for an e-mail: on PUBLIC_URL when set, else on the host of the request."""
    public = (current_app.config.get("PUBLIC_URL") or "").rstrip("/")
    if public:
        return public + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


def _login_checks(email: str) -> list:
    return [
        (LOGIN_ACCOUNT, account_key(email)),
        (LOGIN_ADDRESS, client_address()),
        (LOGIN_ALL, "all"),
    ]


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("auth/login.html", form=form), status
    now, email = clock.now(), normalise_email(form.email.data)
    checks = _login_checks(email)
    if limits_on():
        reached = ratelimit.exceeded(counter(), checks, now=now)
        if reached is LOGIN_ACCOUNT:
            raise ServiceError(
                _(
                    "Too many failed attempts on this account. Sign in with a one-time "
                    "link by e-mail, or try again in 15 minutes."
                ),
                status=429,
            )
        if reached is not None:
            raise ServiceError(_("Too many failed attempts. Try again in 15 minutes."), status=429)
    # Nothing of the request's transaction is open here (see _FRESH_SIGN_IN in web/__init__):
    # the hash runs outside any write lock.
    user_id, new_hash = check_login(db.engine, email, form.password.data)
    if user_id is None:
        if limits_on():
            # Counted in a transaction of its own, committed now: this answer (400) rolls
            # the request's transaction back, which must not undo the count.
            ratelimit.record(counter(), checks, now=now)
        flash(_("Unknown e-mail or wrong password."), "error")
        return render_template("auth/login.html", form=form), 400
    user = db.session.get(User, user_id)
    if new_hash:
        user.password_hash = new_hash
    sign_in(user, remember=form.remember.data)
    return redirect(_safe_next(request.args.get("next")))


@bp.route("/logout", methods=["POST"])
def logout():
    # This device only: its sign-in is deleted, so a copy of its cookies is worthless; the
    # person's phone stays signed in when they log out of a shared computer.
    sign_out()
    session.pop("group_id", None)
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))


def _mail_token(email: str, purpose: str) -> None:
    """Queue a one-time link to the account of `email`, if there is one and the limits
    allow; the answer the person reads never says which."""
    now, email = clock.now(), normalise_email(email)
    checks = [(MAIL_ACCOUNT, account_key(email)), (MAIL_ADDRESS, client_address())]
    if limits_on():
        limits = counter()
        if ratelimit.exceeded(limits, checks, now=now):
            return
        ratelimit.record(limits, checks, now=now)
    user = find_user_by_email(db.session, email)
    if user is None:
        return
    row, secret = issue_token(db.session, user, purpose, now=now)
    minutes = int(LIFETIMES[purpose].total_seconds() // 60)
    with force_locale(user.locale or str(get_locale() or "fr")):
        if purpose == "reset":
            link = absolute_url("auth.reset_password", token=secret)
            title = _("Choose a new password")
            intro = _("Someone asked to reset the password of your Court-circuit account.")
            action = _("Open this link to choose a new one:")
        else:
            link = absolute_url("auth.signin_link", token=secret)
            title = _("Your sign-in link")
            intro = _("Someone asked for a one-time sign-in link to your Court-circuit account.")
            action = _("Open this link to sign in:")
        body = "\n\n".join(
            [
                intro,
                action,
                link,
                _("The link works once, for %(minutes)d minutes.", minutes=minutes),
                _("If it was not you, ignore this message: nothing changes."),
            ]
        )
    queue(
        db.session,
        kind="password_reset" if purpose == "reset" else "signin_link",
        ref=str(row.id),
        title=title,
        body=body,
        user=user,
        channel="email",
        now=now,
    )


@bp.route("/login/link", methods=["GET", "POST"])
def request_signin_link():
    form = EmailForm(email=request.args.get("email", "")[:254] or None)
    if form.validate_on_submit():
        _mail_token(form.email.data, "signin")
        flash(_("If an account uses this address, a sign-in link is on its way to it."), "info")
        return redirect(url_for("auth.login"))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/link_request.html", form=form), status


@bp.route("/login/link/<token>", methods=["GET", "POST"])
def signin_link(token: str):
    form = ConfirmForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            return render_template("auth/link_confirm.html", form=form, token=token), 400
        user = use_token(db.session, token, "signin", now=clock.now())
        sign_in(user)
        flash(_("You are signed in."), "success")
        return redirect(url_for("main.home"))
    row = find_token(db.session, token, "signin", now=clock.now())
    if row is None:
        return render_template("auth/token_invalid.html"), 410
    return render_template("auth/link_confirm.html", form=form, token=token)


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    form = EmailForm()
    if form.validate_on_submit():
        _mail_token(form.email.data, "reset")
        flash(
            _(
                "If an account uses this address, a link to choose a new password is on "
                "its way to it."
            ),
            "info",
        )
        return redirect(url_for("auth.login"))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/forgot.html", form=form), status


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    form = NewPasswordForm()
    now = clock.now()
    if request.method == "GET":
        if find_token(db.session, token, "reset", now=now) is None:
            return render_template("auth/token_invalid.html"), 410
        return render_template("auth/reset.html", form=form, token=token)
    if not form.validate_on_submit():
        return render_template("auth/reset.html", form=form, token=token), 400
    if len(form.password.data) < MIN_PASSWORD_LENGTH:
        form.password.errors = [
            _("Choose a password of at least %(n)d characters.", n=MIN_PASSWORD_LENGTH)
        ]
        return render_template("auth/reset.html", form=form, token=token), 400
    with ratelimit.own_session(db.engine, read_only=True) as reading:
        valid = find_token(reading, token, "reset", now=now) is not None
    if not valid:
        return render_template("auth/token_invalid.html"), 410
    # Hashed before the request's transaction begins (no write lock held meanwhile).
    new_hash = hash_password(form.password.data)
    user = use_token(db.session, token, "reset", now=now)
    user.password_hash = new_hash
    end_sessions(db.session, user)
    sign_in(user)
    flash(_("Your password is changed. Every other session is signed out."), "success")
    return redirect(url_for("main.home"))


@bp.route("/join/<token>", methods=["GET", "POST"])
def join(token: str):
    invitation = find_invitation(db.session, token, now=clock.now())
    if invitation is None:
        return render_template("auth/join_invalid.html"), 404
    # Filled from the invitation (a members' list, a join request): the person may change them.
    form = JoinForm(
        first_name=invitation.first_name or "",
        last_name=invitation.last_name or "",
        phone=invitation.phone or "",
    )
    signed_in = current_user.is_authenticated
    if signed_in and current_user.email != invitation.email:
        if request.method == "POST":
            check_invitation_addressee(invitation, current_user)  # raises: not theirs
        return render_template("auth/join_other.html", invitation=invitation), 403
    if not signed_in and find_user_by_email(db.session, invitation.email):
        flash(
            _(
                "You already have an account: log in to join %(group)s.",
                group=invitation.group.name,
            ),
            "info",
        )
        return redirect(url_for("auth.login", next=request.path))
    if signed_in and request.method == "POST" and form.is_submitted():
        form.validate()  # only the CSRF token matters for a signed-in user
        if not form.csrf_token.errors:
            return _accept(invitation, form, user=current_user)
    elif form.validate_on_submit():
        return _accept(invitation, form, user=None)
    status = 400 if request.method == "POST" else 200
    return render_template("auth/join.html", form=form, invitation=invitation), status


def _accept(invitation, form, *, user):
    if user is not None:
        check_invitation_addressee(invitation, user)
    try:
        user = accept_invitation(
            db.session,
            invitation,
            first_name=form.first_name.data or "",
            last_name=form.last_name.data or "",
            phone=form.phone.data or "",
            password=form.password.data or "",
            now=clock.now(),
            user=user,
        )
    except ServiceError as error:
        field = getattr(form, error.field or "", None) or form.password
        field.errors = [*field.errors, error.message]
        return render_template("auth/join.html", form=form, invitation=invitation), 400
    sign_in(user)
    session["group_id"] = invitation.group_id
    flash(_("Welcome to %(group)s!", group=invitation.group.name), "success")
    return redirect(url_for("main.home"))
