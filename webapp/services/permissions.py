"""Who may do what, where the answer is more than a role in the current group."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from ..models import Invitation, Membership, Producer, User
from . import ServiceError


def can_edit_producer(
    user: User | None, producer: Producer, *, session: Session | None = None
) -> bool:
    """A producer's record (name, trade, city, description) is edited by the producer's own
    account, or by a coordinator of the group that created it; coordinators of the other
    groups it supplies only read it (they share it, they do not own it)."""
    if user is None or not getattr(user, "is_authenticated", True) or producer is None:
        return False
    if producer.user_id is not None and producer.user_id == user.id:
        return True
    session = session or object_session(producer) or object_session(user)
    if session is None:
        return False
    role = session.scalar(
        select(Membership.role).where(
            Membership.user_id == user.id, Membership.group_id == producer.created_in_group_id
        )
    )
    return role == "coordinator"


def check_invitation_addressee(invitation: Invitation, user: User) -> None:
    """An invitation is accepted only by the account of the address it was sent to."""
    if (user.email or "").lower() != (invitation.email or "").lower():
        raise ServiceError(
            _(
                "This invitation is for %(email)s. You are logged in as %(current)s: log out, "
                "then open the link again.",
                email=invitation.email,
                current=user.email,
            ),
            status=403,
        )
