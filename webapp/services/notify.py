"""Reminders that keep a group running, sent once per person and event.

`send_due` finds what is due at `now`; each message is claimed in the notification log
(unique per user, kind and event) and committed before it goes out, so running the
sender twice, or two senders at once, never sends a message twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import url_for
from flask_babel import force_locale, format_datetime
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..domain.cycle import Status
from ..models import (
    Basket,
    Distribution,
    DutyAssignment,
    DutyRole,
    Group,
    Membership,
    NotificationLog,
    NotificationPreference,
    OrderLine,
    PushSubscription,
    User,
)

log = logging.getLogger(__name__)

KINDS = (
    "orders_open",
    "orders_closing",
    "basket_tomorrow",
    "duty_reminder",
    "roles_vacant",
    "product_removed",
    "distribution_cancelled",
    "to_validate",
)


@dataclass
class Message:
    user: User
    kind: str
    ref: str
    title: str
    body: str
    url: str


Deliver = Callable[[Message], str]


def claim(session: Session, message: Message, *, now: datetime) -> bool:
    """Record the message as sent; False when it already was (by us or another sender)."""
    try:
        with session.begin_nested():
            session.add(
                NotificationLog(
                    user_id=message.user.id, kind=message.kind, ref=message.ref, created_at=now
                )
            )
    except IntegrityError:
        return False
    return True


def _members(session: Session, group: Group, *, coordinators_only: bool = False) -> list[User]:
    query = select(User).join(Membership).where(Membership.group_id == group.id)
    if coordinators_only:
        query = query.where(Membership.role == "coordinator")
    return list(session.scalars(query))


def _when(moment: datetime) -> str:
    return format_datetime(moment, "EEEE d MMMM, HH:mm")


def due_messages(session: Session, *, now: datetime) -> list[Message]:
    """Every message due at `now`, in each person's language."""
    messages: list[Message] = []
    distributions = session.scalars(
        select(Distribution).where(
            Distribution.cancelled_at.is_(None),
            Distribution.ends_at > now - timedelta(days=3),
            Distribution.orders_open_at < now + timedelta(days=40),
        )
    ).all()
    for d in distributions:
        group = session.get(Group, d.group_id)
        messages += _for_distribution(session, d, group, now)
    return messages


def _for_distribution(session, d: Distribution, group: Group, now: datetime) -> list[Message]:
    state, out = d.status(now), []
    members = _members(session, group)
    buyers = set(
        session.scalars(
            select(Basket.user_id)
            .join(OrderLine)
            .where(Basket.distribution_id == d.id, OrderLine.quantity > 0)
        )
    )
    shop = url_for("shop.shop", distribution_id=d.id)
    ref = f"d{d.id}"

    def add(user, kind, title, body, url, ref=ref):
        with force_locale(user.locale or "fr"):
            out.append(Message(user, kind, ref, title(), body(), url))

    if state == Status.OPEN and now - d.orders_open_at < timedelta(days=2):
        for u in members:
            add(
                u,
                "orders_open",
                lambda: _("Orders are open"),
                lambda: _("Order until %(when)s.", when=_when(d.orders_close_at)),
                shop,
            )
    if state == Status.OPEN and d.orders_close_at - now <= timedelta(hours=24):
        for u in members:
            if u.id not in buyers:
                add(
                    u,
                    "orders_closing",
                    lambda: _("Orders close in less than 24 hours"),
                    lambda: _("Orders close on %(when)s.", when=_when(d.orders_close_at)),
                    shop,
                )
    if state == Status.CLOSED and d.starts_at - now <= timedelta(hours=24):
        for u in (m for m in members if m.id in buyers):
            add(
                u,
                "basket_tomorrow",
                lambda: _("Your basket is ready for tomorrow"),
                lambda: _(
                    "Distribution on %(when)s at %(place)s.",
                    when=_when(d.starts_at),
                    place=d.place.name,
                ),
                shop,
            )
    duties = session.scalars(
        select(DutyAssignment).where(DutyAssignment.distribution_id == d.id)
    ).all()
    if state in (Status.SCHEDULED, Status.OPEN, Status.CLOSED) and d.starts_at - now <= timedelta(
        days=group.duty_reminder_days
    ):
        for duty in duties:
            add(
                duty.user,
                "duty_reminder",
                lambda duty=duty: _("You are on duty: %(role)s", role=duty.role_name),
                lambda: _(
                    "Distribution on %(when)s at %(place)s.",
                    when=_when(d.starts_at),
                    place=d.place.name,
                ),
                url_for("roster.index"),
            )
        roles = session.scalars(select(DutyRole).where(DutyRole.group_id == group.id)).all()
        taken = {}
        for duty in duties:
            taken[duty.role_name] = taken.get(duty.role_name, 0) + 1
        if any(taken.get(r.name, 0) < r.needed for r in roles):
            for u in members:
                add(
                    u,
                    "roles_vacant",
                    lambda: _("Volunteers wanted"),
                    lambda: _("Some duties of %(when)s are still free.", when=_when(d.starts_at)),
                    url_for("roster.index"),
                )
    if state == Status.DISTRIBUTED:
        for u in _members(session, group, coordinators_only=True):
            add(
                u,
                "to_validate",
                lambda: _("A distribution is waiting for validation"),
                lambda: _("The distribution of %(when)s is over.", when=_when(d.starts_at)),
                url_for("validation.page", distribution_id=d.id),
            )
    return out


def send_due(
    session: Session,
    *,
    now: datetime,
    deliver: Deliver,
    checkpoint: Callable[[], None],
    messages: list[Message] | None = None,
) -> dict[str, int]:
    """Claim and deliver each due message once; return counts per channel."""
    counts: dict[str, int] = {}
    muted = {p.user_id: set(p.muted) for p in session.scalars(select(NotificationPreference))}
    for message in messages if messages is not None else due_messages(session, now=now):
        if not claim(session, message, now=now):
            continue
        checkpoint()  # the claim is visible to other senders before anything goes out
        channel = "muted" if message.kind in muted.get(message.user.id, set()) else deliver(message)
        counts[channel] = counts.get(channel, 0) + 1
    return counts


def has_push(session: Session, user: User) -> list[PushSubscription]:
    return list(
        session.scalars(select(PushSubscription).where(PushSubscription.user_id == user.id))
    )
