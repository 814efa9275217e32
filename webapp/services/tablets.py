"""Who may open a distribution's sheet, and tablet links shown as QR codes."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Distribution, DutyAssignment, Group, Membership, TabletLink, User

SALT = "court-circuit.tablet-link"


def end_of_day(distribution: Distribution, group: Group) -> datetime:
    """Midnight after the distribution ends, in the group's time zone."""
    zone = ZoneInfo(group.timezone)
    local_end = distribution.ends_at.astimezone(zone)
    midnight = datetime.combine(local_end.date() + timedelta(days=1), time(0), tzinfo=zone)
    return midnight.astimezone(ZoneInfo("UTC"))


def user_may_open(
    session: Session, user: User, distribution: Distribution, group: Group, *, now: datetime
) -> bool:
    """Coordinators always; volunteers on duty from the close of orders to the end of the day."""
    membership = session.scalar(
        select(Membership).where(Membership.user_id == user.id, Membership.group_id == group.id)
    )
    if membership is None:
        return False
    if membership.is_coordinator:
        return True
    on_duty = session.scalar(
        select(DutyAssignment.id).where(
            DutyAssignment.distribution_id == distribution.id, DutyAssignment.user_id == user.id
        )
    )
    return bool(on_duty) and distribution.orders_close_at <= now < end_of_day(distribution, group)


def create_link(
    session: Session, distribution: Distribution, group: Group, *, actor: User, now: datetime
) -> TabletLink:
    """A new tablet link for one distribution, valid until the end of its day."""
    link = TabletLink(
        distribution_id=distribution.id,
        created_by_id=actor.id,
        created_at=now,
        expires_at=end_of_day(distribution, group),
    )
    session.add(link)
    session.flush()
    return link


def revoke_links(session: Session, distribution: Distribution, *, now: datetime) -> int:
    """Revoke every live link of a distribution; return how many."""
    links = session.scalars(
        select(TabletLink).where(
            TabletLink.distribution_id == distribution.id, TabletLink.revoked_at.is_(None)
        )
    )
    count = 0
    for link in links:
        link.revoked_at = now
        count += 1
    session.flush()
    return count


def sign(secret: str, link: TabletLink) -> str:
    return URLSafeSerializer(secret, salt=SALT).dumps({"l": link.id, "d": link.distribution_id})


class LinkInvalid(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def check_link(session: Session, secret: str, token: str, *, now: datetime) -> TabletLink:
    """Return the live link a token names, or raise
    LinkInvalid('forged'|'revoked'|'expired'|'not_yet')."""
    try:
        data = URLSafeSerializer(secret, salt=SALT).loads(token)
    except BadSignature as error:
        raise LinkInvalid("forged") from error
    link = session.get(TabletLink, data.get("l")) if isinstance(data, dict) else None
    if link is None or link.distribution_id != data.get("d"):
        raise LinkInvalid("forged")
    if link.revoked_at is not None:
        raise LinkInvalid("revoked")
    if link.expires_at <= now:
        raise LinkInvalid("expired")
    if not link_open(session.get(Distribution, link.distribution_id), now=now):
        raise LinkInvalid("not_yet")
    return link


def link_open(distribution: Distribution | None, *, now: datetime) -> bool:
    """A tablet link opens the sheet from the close of orders, as volunteers on duty do:
    before, the baskets can still change and nobody needs names and phones on a tablet."""
    return distribution is not None and distribution.orders_close_at <= now
