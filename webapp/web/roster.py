"""The duty roster: members sign up and withdraw; coordinators assign and manage roles."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import clock
from ..domain.money import whole
from ..extensions import db
from ..models import Distribution, DutyAssignment, DutyRole
from ..services import roster as svc
from ..services.accounts import group_members
from ..services.catalogues import catalogues_of
from .access import coordinator_required, get_in_group_or_404, is_coordinator, member_required
from .converters import as_id

bp = Blueprint("roster", __name__, url_prefix="/roster")


@bp.route("/")
@member_required
def index(status: int = 200):
    now = clock.now()
    return render_template(
        "roster/index.html",
        days=svc.roster(db.session, g.group, now=now),
        roles=svc.roles_of(db.session, g.group),
        now=now,
        opens=timedelta(days=g.group.duty_signup_days),
        members=group_members(db.session, g.group) if is_coordinator() else [],
        catalogues=catalogues_of(db.session, g.group),
    ), status


def _role(role_id) -> DutyRole:
    role = db.session.get(DutyRole, role_id or 0)
    if role is None or role.group_id != g.group.id:
        abort(404)
    return role


def _done(action, success: str):
    action()  # a refusal raises: the error handler rolls back and shows it
    flash(success, "success")
    return redirect(url_for("roster.index"))


@bp.route("/<int:distribution_id>/signup", methods=["POST"])
@member_required
def signup(distribution_id: int):
    distribution = get_in_group_or_404(Distribution, distribution_id)
    role = _role(request.form.get("role_id", type=as_id))
    coordinator = is_coordinator()
    user = current_user
    if coordinator and request.form.get("user_id"):
        member = next(
            (
                m
                for m in group_members(db.session, g.group)
                if m.user_id == request.form.get("user_id", type=as_id)
            ),
            None,
        )
        if member is None:
            abort(404)
        user = member.user
    return _done(
        lambda: svc.sign_up(
            db.session, distribution, g.group, role, user, now=clock.now(), coordinator=coordinator
        ),
        _("%(name)s is on duty: %(role)s.", name=user.name, role=role.name),
    )


@bp.route("/duties/<int:duty_id>/withdraw", methods=["POST"])
@member_required
def withdraw(duty_id: int):
    duty = db.session.get(DutyAssignment, duty_id)
    if duty is None:
        abort(404)
    distribution = get_in_group_or_404(Distribution, duty.distribution_id)
    return _done(
        lambda: svc.withdraw(
            db.session,
            duty,
            distribution,
            g.group,
            actor=current_user,
            reason=request.form.get("reason", ""),
            now=clock.now(),
            coordinator=is_coordinator(),
        ),
        _("Withdrawn from the duty."),
    )


@bp.route("/roles", methods=["POST"])
@coordinator_required
def add_role():
    needed = request.form.get("needed", "1")
    return _done(
        lambda: svc.save_role(
            db.session,
            g.group,
            name=request.form.get("name", ""),
            needed=whole(needed, max_digits=4) or 0,
            catalogue_id=request.form.get("catalogue_id", type=as_id),
        ),
        _("Role saved."),
    )
