"""Groups: create one (signing up on the way), see and switch one's groups, leave one,
and the public page where people ask to join from a shared link."""

from __future__ import annotations

import os
from datetime import timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import exists, select

from .. import clock
from ..extensions import db
from ..services import ServiceError, ratelimit
from ..services.accounts import create_user
from ..services.groups import create_group, remove_member, setup_steps
from ..services.joining import group_for_join_token, request_to_join
from ..services.ratelimit import Limit, account_key
from .forms import GroupForm, JoinRequestForm
from .limits import client_address, counter, limits_on
from .signin import sign_in

bp = Blueprint("groups", __name__, url_prefix="/groups")


def join_url(token: str) -> str:
    """The absolute link of an invitation (what the e-mail carries)."""
    from .auth import absolute_url

    return absolute_url("auth.join", token=token)


def open_creation() -> bool:
    """Anyone signed in (or signing up) may create a group unless OPEN_GROUP_CREATION=0."""
    value = current_app.config.get(
        "OPEN_GROUP_CREATION", os.environ.get("OPEN_GROUP_CREATION", "1")
    )
    return str(value).strip().lower() not in ("0", "false", "no", "off")


@bp.app_template_global()
def group_creation_open() -> bool:
    """Whether pages for someone signed out (the login page) offer to start a group."""
    return open_creation()


@bp.app_template_global()
def duty_roles_state(group_id: int) -> dict:
    """For the sheet's refusal page: whether the group has duty roles to sign up for, and
    whether the person reading may create them (a coordinator of that group)."""
    from ..models import DutyRole

    has_roles = db.session.scalar(select(exists().where(DutyRole.group_id == group_id)))
    coordinator = current_user.is_authenticated and any(
        m.group_id == group_id and m.is_coordinator for m in current_user.memberships
    )
    return {"has_roles": bool(has_roles), "coordinator": bool(coordinator)}


@bp.app_template_global()
def group_setup_steps() -> list[tuple[str, bool]]:
    """For the home page of a new group: its first steps, until they are all done."""
    if not (g.get("membership") and g.membership.is_coordinator):
        return []
    steps = setup_steps(db.session, g.group)
    return [] if all(done for _step, done in steps) else steps


@bp.route("/")
@login_required
def index():
    return render_template("groups/index.html", can_create=open_creation())


@bp.route("/new", methods=["GET", "POST"])
def new():
    if not open_creation():
        return render_template("groups/closed.html"), 403
    form = GroupForm()
    signed_in = current_user.is_authenticated
    if not form.is_submitted() and signed_in and current_user.locale in ("fr", "en"):
        form.locale.data = current_user.locale
    if form.validate_on_submit() and (signed_in or _account_complete(form)):
        try:
            group = _create(form, signed_in=signed_in)
        except ServiceError as error:
            field = getattr(form, error.field or "", None) or form.name
            field.errors = [*field.errors, error.message]
        else:
            session["group_id"] = group.id
            flash(_("%(group)s is created: you are its coordinator.", group=group.name), "success")
            return redirect(url_for("main.home"), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("groups/new.html", form=form, signed_in=signed_in), status


def _account_complete(form: GroupForm) -> bool:
    """Someone not signed in creates their account with the group: all fields needed."""
    complete = True
    for field in (form.first_name, form.last_name, form.email, form.password):
        if not (field.data or "").strip():
            field.errors = [*field.errors, _("This field is required.")]
            complete = False
    return complete


def _create(form: GroupForm, *, signed_in: bool):
    now = clock.now()
    user = current_user._get_current_object() if signed_in else None
    if user is None:
        user = create_user(
            db.session,
            email=form.email.data,
            first_name=form.first_name.data,
            last_name=form.last_name.data,
            password=form.password.data,
            locale=form.locale.data,
            now=now,
        )
    group = create_group(
        db.session,
        name=form.name.data,
        place_name=form.place_name.data,
        place_address=form.place_address.data or "",
        payment_methods=form.payment_methods.data,
        locale=form.locale.data,
        coordinator=user,
        now=now,
    )
    if not signed_in:
        sign_in(user)
    return group


@bp.route("/<int:group_id>/leave", methods=["POST"])
@login_required
def leave(group_id: int):
    membership = next((m for m in current_user.memberships if m.group_id == group_id), None)
    if membership is None:
        abort(404)
    name = membership.group.name
    remove_member(db.session, membership, actor=current_user, now=clock.now(), join_url=join_url)
    session.pop("group_id", None)
    flash(_("You left %(group)s.", group=name), "info")
    return redirect(url_for("groups.index"), code=303)


# Join requests: from one network, and for one e-mail address whatever the network.
JOIN_ADDRESS = Limit("join-address", 20, timedelta(hours=1))
JOIN_EMAIL = Limit("join-email", 3, timedelta(hours=1))


def _join_checks(email: str) -> list:
    return [(JOIN_ADDRESS, client_address()), (JOIN_EMAIL, account_key(email))]


def _join_limited(email: str) -> bool:
    """Whether this join request would be one too many."""
    if not limits_on():
        return False
    limits = counter(in_request=True)
    return ratelimit.exceeded(limits, _join_checks(email), now=clock.now()) is not None


def _count_join(email: str) -> None:
    """Count a join request once it is made (a refused one creates nothing and is not
    counted, whatever the storage); in the database, within the request's transaction.
    Two requests at the very same instant may both pass the last place of a limit: the
    limit slows a flood, it does not need to be exact."""
    if limits_on():
        ratelimit.record(counter(in_request=True), _join_checks(email), now=clock.now())


@bp.route("/join/<token>", methods=["GET", "POST"])
def ask_to_join(token: str):
    group = group_for_join_token(db.session, token)
    if group is None:
        return render_template("groups/join_invalid.html"), 404
    member = current_user.is_authenticated and any(
        m.group_id == group.id for m in current_user.memberships
    )
    form = JoinRequestForm()
    if not form.is_submitted() and current_user.is_authenticated:
        for name in ("first_name", "last_name", "email", "phone"):
            getattr(form, name).data = getattr(current_user, name)
    if not member and form.validate_on_submit():
        if _join_limited(form.email.data or ""):
            form.email.errors = [
                *form.email.errors,
                _("Too many requests from this network or for this address. Try again in an hour."),
            ]
            return render_template("groups/join.html", form=form, group=group, member=member), 429
        try:
            request_to_join(
                db.session,
                group,
                first_name=form.first_name.data,
                last_name=form.last_name.data,
                email=form.email.data,
                phone=form.phone.data or "",
                message=form.message.data or "",
                now=clock.now(),
            )
        except ServiceError as error:
            field = getattr(form, error.field or "", None) or form.email
            field.errors = [*field.errors, error.message]
        else:
            _count_join(form.email.data or "")
            return redirect(url_for("groups.join_sent", token=token), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("groups/join.html", form=form, group=group, member=member), status


@bp.route("/join/<token>/sent")
def join_sent(token: str):
    group = group_for_join_token(db.session, token)
    if group is None:
        return render_template("groups/join_invalid.html"), 404
    return render_template("groups/join_sent.html", group=group)
