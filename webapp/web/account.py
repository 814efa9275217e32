"""A user's own profile, password and sessions."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user
from flask_login.utils import login_remembered

from ..extensions import db
from ..services import ServiceError
from ..services.accounts import change_password, update_profile
from ..services.tokens import end_sessions
from .forms import PasswordForm, ProfileForm

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.route("/", methods=["GET", "POST"])
@login_required
def profile():
    form = ProfileForm(obj=current_user)
    if form.validate_on_submit():
        update_profile(
            db.session,
            current_user,
            first_name=form.first_name.data,
            last_name=form.last_name.data,
            phone=form.phone.data or "",
            locale=form.locale.data or None,
        )
        flash(_("Your profile is saved."), "success")
        return redirect(url_for("account.profile"))
    return _page(form, PasswordForm(), 400 if form.errors else 200)


@bp.route("/password", methods=["POST"])
@login_required
def password():
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            change_password(
                db.session, current_user, current=form.current_password.data, new=form.password.data
            )
        except ServiceError as error:
            field = getattr(form, error.field or "password")
            field.errors = [*field.errors, error.message]
        else:
            _end_other_sessions()
            flash(_("Your password is changed. Every other session is signed out."), "success")
            return redirect(url_for("account.profile"))
    return _page(ProfileForm(obj=current_user), form, 400)


def _end_other_sessions() -> None:
    """End every session of the account, then give this one the new version again (with
    its remember-me cookie when it had one)."""
    remembered = login_remembered()
    end_sessions(db.session, current_user)
    login_user(current_user._get_current_object(), remember=remembered)


@bp.route("/sessions/end", methods=["POST"])
@login_required
def end_other_sessions():
    _end_other_sessions()
    flash(_("Every other session is signed out."), "success")
    return redirect(url_for("account.profile"))


def _page(profile_form, password_form, status):
    return (
        render_template("account/profile.html", form=profile_form, password_form=password_form),
        status,
    )


@bp.route("/notifications", methods=["GET", "POST"])
@login_required
def notifications():
    from ..models import NotificationPreference
    from ..services.notify import KINDS

    labels = {
        "orders_open": _("Orders are open"),
        "orders_closing": _("Orders close in less than 24 hours"),
        "basket_tomorrow": _("Your basket tomorrow"),
        "duty_reminder": _("Duty reminders"),
        "roles_vacant": _("Volunteers wanted"),
        "product_removed": _("A product was removed from your order"),
        "distribution_cancelled": _("A distribution is cancelled"),
        "distribution_moved": _("A distribution moves (day, hours or place)"),
        "to_validate": _("A distribution is waiting for validation"),
    }
    pref = db.session.get(NotificationPreference, current_user.id)
    if request.method == "POST":
        wanted = set(request.form.getlist("kind"))
        if pref is None:
            pref = NotificationPreference(user_id=current_user.id)
            db.session.add(pref)
        pref.muted = [k for k in KINDS if k not in wanted]
        flash(_("Your choices are saved."), "success")
        return redirect(url_for("account.notifications"))
    return render_template(
        "account/notifications.html",
        kinds=[(k, labels[k]) for k in KINDS],
        muted=set(pref.muted) if pref else set(),
    )
