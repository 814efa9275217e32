"""The duty roster ("permanences"): roles, sign-ups, withdrawals, assignments."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from ..models import Catalogue, Distribution, DutyAssignment, DutyRole, DutyWithdrawal, Group, User
from . import Forbidden, ServiceError


def roles_of(session: Session, group: Group) -> list[DutyRole]:
    return list(
        session.scalars(
            select(DutyRole).where(DutyRole.group_id == group.id).order_by(DutyRole.name)
        )
    )


def save_role(
    session: Session, group: Group, *, name: str, needed: int, catalogue_id: int | None = None
) -> DutyRole:
    if not name.strip():
        raise ServiceError(_("A name is required."), field="name")
    if not 1 <= needed <= 20:
        raise ServiceError(_("Between 1 and 20 people."), field="needed")
    if session.scalar(
        select(DutyRole).where(DutyRole.group_id == group.id, DutyRole.name == name.strip())
    ):
        raise ServiceError(_("This role exists already."), field="name")
    if (
        catalogue_id is not None
        and session.scalar(select(Catalogue.group_id).where(Catalogue.id == catalogue_id))
        != group.id
    ):
        raise ServiceError(_("Unknown place or catalogue."), status=404)
    role = DutyRole(group_id=group.id, name=name.strip(), needed=needed, catalogue_id=catalogue_id)
    session.add(role)
    session.flush()
    return role


def _check_open(
    distribution: Distribution, group: Group, now: datetime, *, coordinator: bool
) -> None:
    if (
        distribution.validated_at is not None
        or distribution.cancelled_at is not None
        or now >= distribution.starts_at
    ):
        raise ServiceError(_("This distribution's roster is locked."), status=409)
    if not coordinator and distribution.starts_at - now > timedelta(days=group.duty_signup_days):
        raise ServiceError(
            _("Sign-up opens %(n)d days before the distribution.", n=group.duty_signup_days),
            status=409,
        )


def sign_up(
    session: Session,
    distribution: Distribution,
    group: Group,
    role: DutyRole,
    user: User,
    *,
    now: datetime,
    coordinator: bool = False,
) -> DutyAssignment:
    """Put a member on duty in a role, while places are left."""
    _check_open(distribution, group, now, coordinator=coordinator)
    if role.group_id != group.id:
        raise ServiceError(_("Unknown role."), status=404)
    taken = session.scalar(
        select(func.count(DutyAssignment.id)).where(
            DutyAssignment.distribution_id == distribution.id, DutyAssignment.role_name == role.name
        )
    )
    if taken >= role.needed:
        raise ServiceError(_("This role is full."), status=409)
    if session.scalar(
        select(DutyAssignment.id).where(
            DutyAssignment.distribution_id == distribution.id,
            DutyAssignment.user_id == user.id,
            DutyAssignment.role_name == role.name,
        )
    ):
        raise ServiceError(_("Already on duty in this role."), status=409)
    duty = DutyAssignment(
        distribution_id=distribution.id, user_id=user.id, role_name=role.name, created_at=now
    )
    session.add(duty)
    session.flush()
    return duty


def withdraw(
    session: Session,
    duty: DutyAssignment,
    distribution: Distribution,
    group: Group,
    *,
    actor: User,
    reason: str,
    now: datetime,
    coordinator: bool = False,
) -> None:
    """Take a member off a duty, keeping who and why."""
    if duty.user_id != actor.id and not coordinator:
        raise Forbidden(_("You can only withdraw from your own duties."))
    _check_open(distribution, group, now, coordinator=True)
    if not coordinator and not reason.strip():
        raise ServiceError(_("Say why, so the others can find someone."), field="reason")
    session.add(
        DutyWithdrawal(
            distribution_id=distribution.id,
            user_id=duty.user_id,
            role_name=duty.role_name,
            reason=reason.strip()[:500],
            created_at=now,
        )
    )
    session.delete(duty)
    session.flush()


def roster(session: Session, group: Group, *, now: datetime) -> list[tuple[Distribution, dict]]:
    """Coming distributions with, per role, who is on duty."""
    distributions = session.scalars(
        select(Distribution)
        .where(
            Distribution.group_id == group.id,
            Distribution.cancelled_at.is_(None),
            Distribution.validated_at.is_(None),
            Distribution.starts_at > now,
        )
        .order_by(Distribution.starts_at)
        .limit(12)
    ).all()
    duties = session.scalars(
        select(DutyAssignment)
        .where(DutyAssignment.distribution_id.in_([d.id for d in distributions]))
        .options(selectinload(DutyAssignment.user))
    ).all()
    by_day: dict[int, dict[str, list[DutyAssignment]]] = {d.id: {} for d in distributions}
    for duty in duties:
        by_day[duty.distribution_id].setdefault(duty.role_name, []).append(duty)
    return [(d, by_day[d.id]) for d in distributions]
