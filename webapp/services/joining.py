"""Asking to join a group from its shared link; coordinators accept or refuse; a group
with a member limit keeps accepted people waiting, in order, until places free.

The states are drawn in `webapp/models/joining.py`. A place is taken by a member or by
an invitation still open (not accepted, not expired), so offers never exceed the limit.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Group, Invitation, JoinRequest, Membership, User
from . import ServiceError
from .accounts import (
    find_user_by_email,
    new_invitation,
    normalise_email,
    queue_invitation,
    valid_email,
)
from .outbox import queue

OPEN_STATES = ("pending", "waiting")


def open_join_link(session: Session, group: Group, *, renew: bool = False) -> str:
    """Give the group a join link (a new secret when `renew`); return its token."""
    if renew or not group.join_token:
        group.join_token = secrets.token_urlsafe(18)
        session.flush()
    return group.join_token


def close_join_link(session: Session, group: Group) -> None:
    """Stop the shared link from taking requests."""
    group.join_token = None
    session.flush()


def group_for_join_token(session: Session, token: str) -> Group | None:
    """The group whose shared link this is, or None."""
    if not token:
        return None
    return session.scalar(select(Group).where(Group.join_token == token))


def _is_member(session: Session, group: Group, email: str) -> bool:
    user = find_user_by_email(session, email)
    return bool(user and any(m.group_id == group.id for m in user.memberships))


def request_to_join(
    session: Session,
    group: Group,
    *,
    first_name: str,
    last_name: str,
    email: str,
    phone: str,
    message: str,
    now: datetime,
) -> JoinRequest:
    """Record a request to join (one open request per address) and tell the coordinators."""
    email = normalise_email(email)
    if not first_name.strip() or not last_name.strip():
        raise ServiceError(_("Enter your first and last name."), field="first_name")
    if not valid_email(email) or len(email) > 254:
        raise ServiceError(_("Enter a valid e-mail address."), field="email")
    if _is_member(session, group, email):
        raise ServiceError(
            _("This address is already a member of the group: log in."), field="email"
        )
    existing = session.scalar(
        select(JoinRequest).where(
            JoinRequest.group_id == group.id,
            JoinRequest.email == email,
            JoinRequest.state.in_(OPEN_STATES),
        )
    )
    if existing:
        return existing
    request = JoinRequest(
        group_id=group.id,
        first_name=first_name.strip()[:80],
        last_name=last_name.strip()[:80],
        email=email,
        phone=phone.strip()[:30],
        message=message.strip()[:2000],
        state="pending",
        created_at=now,
    )
    session.add(request)
    session.flush()
    _tell_coordinators(session, group, request, now=now)
    return request


def _tell_coordinators(session: Session, group: Group, request: JoinRequest, *, now) -> None:
    coordinators = session.scalars(
        select(User)
        .join(Membership)
        .where(Membership.group_id == group.id, Membership.role == "coordinator")
    )
    for user in coordinators:
        with force_locale(user.locale or group.locale or "fr"):
            title = _("%(name)s asks to join %(group)s", name=request.name, group=group.name)
            body = request.message or _("No message.")
        queue(
            session,
            kind="join_request",
            ref=str(request.id),
            title=title,
            body=body,
            url="/members/requests",
            user=user,
            group_id=group.id,
            now=now,
        )


def places_left(session: Session, group: Group, *, now: datetime) -> int | None:
    """Free places under the group's limit (None: no limit)."""
    if group.max_members is None:
        return None
    members = session.scalar(
        select(func.count()).select_from(Membership).where(Membership.group_id == group.id)
    )
    promised = session.scalar(
        select(func.count())
        .select_from(Invitation)
        .where(
            Invitation.group_id == group.id,
            Invitation.accepted_at.is_(None),
            Invitation.expires_at > now,
        )
    )
    return max(group.max_members - members - promised, 0)


def _invite(session, request: JoinRequest, *, actor: User, now, join_url) -> None:
    if _is_member(session, request.group, request.email):
        raise ServiceError(_("This person is already a member of the group."))
    invitation, token = new_invitation(
        request.group,
        email=request.email,
        role="member",
        actor=actor,
        now=now,
        first_name=request.first_name,
        last_name=request.last_name,
        phone=request.phone,
    )
    session.add(invitation)
    session.flush()
    queue_invitation(session, invitation, token, inviter=actor.name, join_url=join_url, now=now)
    request.state = "invited"
    request.invitation_id = invitation.id


def accept_request(
    session: Session,
    request: JoinRequest,
    *,
    actor: User,
    now: datetime,
    join_url: Callable[[str], str],
) -> JoinRequest:
    """Accept: invite at once when a place is free, else put the request on the waiting list."""
    if request.state != "pending":
        raise ServiceError(_("This request was already answered."), status=409)
    request.decided_at, request.decided_by_id = now, actor.id
    left = places_left(session, request.group, now=now)
    if left is None or left > 0:
        _invite(session, request, actor=actor, now=now, join_url=join_url)
    else:
        request.state = "waiting"
    session.flush()
    return request


def refuse_request(session: Session, request: JoinRequest, *, actor: User, now: datetime) -> None:
    """Refuse a pending or waiting request (nothing is sent)."""
    if request.state not in OPEN_STATES:
        raise ServiceError(_("This request was already answered."), status=409)
    request.state = "refused"
    request.decided_at, request.decided_by_id = now, actor.id
    session.flush()


def waiting_list(session: Session, group: Group) -> list[JoinRequest]:
    """Accepted requests waiting for a place, first come first served."""
    return list(
        session.scalars(
            select(JoinRequest)
            .where(JoinRequest.group_id == group.id, JoinRequest.state == "waiting")
            .order_by(JoinRequest.created_at, JoinRequest.id)
        )
    )


def offer_free_places(
    session: Session,
    group: Group,
    *,
    actor: User,
    now: datetime,
    join_url: Callable[[str], str],
) -> list[JoinRequest]:
    """Invite people from the waiting list, in order, while places are free."""
    left = places_left(session, group, now=now)
    offered = []
    for request in waiting_list(session, group):
        if left is not None and len(offered) >= left:
            break
        if _is_member(session, group, request.email):
            request.state = "invited"  # joined meanwhile by another way: no place taken
            continue
        inviter = session.get(User, request.decided_by_id) if request.decided_by_id else None
        _invite(session, request, actor=inviter or actor, now=now, join_url=join_url)
        offered.append(request)
    session.flush()
    return offered


def pending_count(session: Session, group: Group) -> int:
    """How many requests wait for a coordinator's answer."""
    return session.scalar(
        select(func.count())
        .select_from(JoinRequest)
        .where(JoinRequest.group_id == group.id, JoinRequest.state == "pending")
    )


def requests_by_state(session: Session, group: Group) -> dict[str, list[JoinRequest]]:
    """The group's requests sorted by state, each list in the order they came."""
    rows = session.scalars(
        select(JoinRequest)
        .where(JoinRequest.group_id == group.id)
        .order_by(JoinRequest.created_at, JoinRequest.id)
    )
    grouped: dict[str, list[JoinRequest]] = {
        "pending": [],
        "waiting": [],
        "invited": [],
        "refused": [],
    }
    for row in rows:
        grouped[row.state].append(row)
    return grouped
