"""Log in, log out, join a group from an invitation."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user

from .. import clock
from ..extensions import db, limiter
from ..services import ServiceError
from ..services.accounts import (
    accept_invitation,
    authenticate,
    find_invitation,
    find_user_by_email,
)
from .forms import JoinForm, LoginForm

bp = Blueprint("auth", __name__)


def _login_key() -> str:
    """Guesses are counted per address and per account tried."""
    return f"{get_remote_address()}|{(request.form.get('email') or '').strip().lower()[:254]}"


def _safe_next(target: str | None) -> str:
    """Follow `next` only to a path on this site."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("main.home")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"], key_func=lambda: _login_key())
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(db.session, form.email.data, form.password.data)
        if user:
            login_user(user, remember=form.remember.data)
            return redirect(_safe_next(request.args.get("next")))
        flash(_("Unknown e-mail or wrong password."), "error")
        return render_template("auth/login.html", form=form), 400
    status = 400 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    session.pop("group_id", None)
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/join/<token>", methods=["GET", "POST"])
def join(token: str):
    invitation = find_invitation(db.session, token, now=clock.now())
    if invitation is None:
        return render_template("auth/join_invalid.html"), 404
    form = JoinForm()
    signed_in = current_user.is_authenticated
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
    login_user(user)
    session["group_id"] = invitation.group_id
    flash(_("Welcome to %(group)s!", group=invitation.group.name), "success")
    return redirect(url_for("main.home"))
