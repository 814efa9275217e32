"""Reminders that keep a group running, queued once per person and event.

`due_messages` finds what is due at `now`; `queue_due` writes each into the outbox under
a dedupe key (kind, event, person), so running it every minute, or twice at once, queues
each reminder once. The sender (`webapp.sender`) delivers them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from flask import url_for
from flask_babel import force_locale, format_currency, ngettext
from flask_babel import gettext as _
from sqlalchemy import or_, select
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
    OrderLine,
    OutboxMessage,
    PushSubscription,
    User,
)
from . import dates, outbox

log = logging.getLogger(__name__)

KINDS = (
    "orders_open",
    "orders_closing",
    "basket_tomorrow",
    "duty_reminder",
    "roles_vacant",
    "product_removed",
    "distribution_cancelled",
    "distribution_moved",  # services/distributions.py tell_moved
    "to_validate",
)


@dataclass
class Message:
    user: User | None  # None: to `email` only (a producer without an account)
    kind: str
    ref: str
    title: str
    body: str
    url: str
    group_id: int | None = None
    channel: str = "auto"  # "email" for messages with files (attachments.BUILDERS)
    email: str | None = None


def _members(session: Session, group: Group, *, coordinators_only: bool = False) -> list[User]:
    query = select(User).join(Membership).where(Membership.group_id == group.id)
    if coordinators_only:
        query = query.where(Membership.role == "coordinator")
    return list(session.scalars(query))


def _when(moment: datetime, tz: str | None = None) -> str:
    """A start or a deadline in the reader's language and the group's time zone."""
    return dates.day_time(moment, tz)


def _day(moment: datetime, tz: str | None = None) -> str:
    return dates.day(moment, tz)


def due_distribution_ids(session: Session, *, now: datetime) -> list[int]:
    """The distributions that may have reminders due at `now` (oldest first)."""
    return list(
        session.scalars(
            select(Distribution.id)
            .where(
                Distribution.cancelled_at.is_(None),
                Distribution.ends_at > now - timedelta(days=3),
                Distribution.orders_open_at < now + timedelta(days=40),
            )
            .order_by(Distribution.id)
        )
    )


# (ref, kind, user id) of a reminder queued once already.
Queued = set[tuple[str, str, int | None]]


def _queued(session: Session, d: Distribution) -> Queued:
    """What was queued before for this distribution (its reminders and its producers'
    purchase orders), in the outbox and in the log kept from before it: read once, so
    that nothing already queued is written again, in any language, every minute."""
    refs = [f"d{d.id}", *(f"d{d.id}-p{c.producer_id}" for c in d.catalogues)]
    found: Queued = set()
    for model in (OutboxMessage, NotificationLog):
        found.update(
            (ref, kind, user_id)
            for ref, kind, user_id in session.execute(
                select(model.ref, model.kind, model.user_id).where(model.ref.in_(refs))
            )
        )
    return found


def due_messages(
    session: Session, *, now: datetime, distribution_ids: list[int] | None = None
) -> list[Message]:
    """Every message due at `now` and not queued before, in each person's language; for
    the distributions given, or every one that may have some."""
    if distribution_ids is None:
        distribution_ids = due_distribution_ids(session, now=now)
    messages: list[Message] = []
    for start in range(0, len(distribution_ids), 500):
        chunk = distribution_ids[start : start + 500]
        distributions = session.scalars(
            select(Distribution).where(Distribution.id.in_(chunk)).order_by(Distribution.id)
        ).all()
        for d in distributions:
            group = session.get(Group, d.group_id)
            queued = _queued(session, d)
            messages += _for_distribution(session, d, group, now, queued)
            messages += _purchase_orders(session, d, group, now, queued)
    return messages


PURCHASE_ORDER_WINDOW = timedelta(days=2)  # after the close; older closes are not sent late


def _purchase_orders(
    session: Session, d: Distribution, group: Group, now: datetime, queued: Queued
) -> list[Message]:
    """When orders close: each producer gets their purchase order (PDF and CSV attached by
    `attachments`), one e-mail per producer and distribution. A producer with an account
    gets it there, in their language; one without, at the address the group keeps for them
    (`Producer.email`), in the group's language and with no link (they have no page)."""
    from .attachments import PURCHASE_ORDER, purchase_order_ref
    from .producers import purchase_order

    if d.status(now) not in (Status.CLOSED, Status.DISTRIBUTING, Status.DISTRIBUTED):
        return []
    if now - d.orders_close_at > PURCHASE_ORDER_WINDOW:
        return []
    # Queued once per producer and distribution, to whichever recipient it went: a producer
    # who gets an account after the e-mail went to their address is not sent it again.
    sent = {ref for ref, kind, _user_id in queued if kind == PURCHASE_ORDER}
    out = []
    producers = {c.producer for c in d.catalogues}
    for producer in sorted(producers, key=lambda p: p.id):
        ref = purchase_order_ref(d, producer)
        if ref in sent:
            continue  # sent already: not summed again
        user = session.get(User, producer.user_id) if producer.user_id is not None else None
        if user is None and not producer.email:
            continue  # nowhere to send it
        orders, summaries = purchase_order(session, d, producer)
        total = sum(s.total_cents for s in summaries)
        locale = (user.locale if user is not None else group.locale) or "fr"
        with force_locale(locale):
            title = _(
                "Purchase order: %(group)s, %(day)s",
                group=group.name,
                day=_day(d.starts_at, group.timezone),
            )
            body = ngettext(
                "Orders for the distribution of %(when)s at %(place)s are closed: "
                "%(num)d order, %(total)s incl. VAT. The purchase order is attached "
                "(PDF and CSV).",
                "Orders for the distribution of %(when)s at %(place)s are closed: "
                "%(num)d orders, %(total)s incl. VAT. The purchase order is attached "
                "(PDF and CSV).",
                len(orders),
                when=_when(d.starts_at, group.timezone),
                place=d.place.name,
                total=format_currency(Decimal(total) / 100, "EUR"),
            )
        out.append(
            Message(
                user,
                PURCHASE_ORDER,
                ref,
                title,
                body,
                url_for("reports.producer_home") if user is not None else "",
                group.id,
                channel="email",
                email=None if user is not None else producer.email,
            )
        )
    return out


def queue_corrected_purchase_orders(
    session: Session, d: Distribution, lines: list[OrderLine], *, now: datetime
) -> int:
    """After products were taken out of the orders (`lines`, just changed), each producer
    whose purchase order for `d` was already queued or sent gets a corrected one: same
    recipient and language rules as `_purchase_orders`, a new revision of the ref
    (`d<id>-p<id>-r<n>`) so the outbox queues it again, the files rebuilt from the current
    lines by `attachments`. A producer none of whose lines changed, or whose purchase order
    was not queued yet (the normal one will carry the change), gets nothing. Written in the
    caller's transaction; returns how many were queued."""
    from .attachments import PURCHASE_ORDER, parse_purchase_order_ref, purchase_order_ref
    from .producers import purchase_order

    changed = sorted({line.product.catalogue.producer_id for line in lines})
    if not changed:
        return 0
    # Two removals at once on PostgreSQL would read the same last revision: the second
    # waits here for the first to commit (SQLite's writers are serialised already).
    session.execute(select(Distribution.id).where(Distribution.id == d.id).with_for_update())
    group = session.get(Group, d.group_id)
    producers = {c.producer_id: c.producer for c in d.catalogues}
    queued = 0
    for producer_id in changed:
        producer = producers.get(producer_id)
        if producer is None:
            continue
        base = purchase_order_ref(d, producer)
        revisions: list[int] = []
        for model in (OutboxMessage, NotificationLog):
            for ref in session.scalars(
                select(model.ref).where(
                    model.kind == PURCHASE_ORDER,
                    or_(model.ref == base, model.ref.like(f"{base}-r%")),
                )
            ):
                parsed = parse_purchase_order_ref(ref)
                if parsed is not None:
                    revisions.append(parsed[2] or 0)
        if not revisions:
            continue  # not sent yet: the purchase order, when orders close, carries it
        user = session.get(User, producer.user_id) if producer.user_id is not None else None
        if user is None and not producer.email:
            continue  # nowhere to send it
        ref = purchase_order_ref(d, producer, max(revisions) + 1)
        _orders, summaries = purchase_order(session, d, producer)
        total = sum(s.total_cents for s in summaries)
        with force_locale((user.locale if user is not None else group.locale) or "fr"):
            title = _(
                "Corrected purchase order: %(group)s, %(day)s",
                group=group.name,
                day=_day(d.starts_at, group.timezone),
            )
            body = _(
                "Unavailable products were taken out of the orders for the distribution of "
                "%(when)s at %(place)s: the new total is %(total)s incl. VAT, and this "
                "purchase order (PDF and CSV attached) replaces the previous one.",
                when=_when(d.starts_at, group.timezone),
                place=d.place.name,
                total=format_currency(Decimal(total) / 100, "EUR"),
            )
        row = outbox.queue(
            session,
            kind=PURCHASE_ORDER,
            ref=ref,
            title=title,
            body=body,
            url=url_for("reports.producer_home") if user is not None else "",
            user=user,
            email=None if user is not None else producer.email,
            group_id=group.id,
            channel="email",
            now=now,
        )
        queued += row is not None
    return queued


def _for_distribution(
    session, d: Distribution, group: Group, now: datetime, queued: Queued
) -> list[Message]:
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
    tz = group.timezone

    def day():
        return _day(d.starts_at, tz)

    def add(user, kind, title, body, url, ref=ref):
        if (ref, kind, user.id) in queued:
            return  # queued before: no text built
        with force_locale(user.locale or "fr"):
            out.append(Message(user, kind, ref, title(), body(), url, group.id))

    if state == Status.OPEN and now - d.orders_open_at < timedelta(days=2):
        for u in members:
            add(
                u,
                "orders_open",
                lambda: _("%(group)s: orders are open for %(day)s", group=group.name, day=day()),
                lambda: _(
                    "Order until %(when)s for the distribution of %(day)s at %(place)s.",
                    when=_when(d.orders_close_at, tz),
                    day=day(),
                    place=d.place.name,
                ),
                shop,
            )
    if state == Status.OPEN and d.orders_close_at - now <= timedelta(hours=24):
        for u in members:
            if u.id not in buyers:
                add(
                    u,
                    "orders_closing",
                    lambda: _(
                        "%(group)s: orders for %(day)s close in less than 24 hours",
                        group=group.name,
                        day=day(),
                    ),
                    lambda: _(
                        "Orders close on %(when)s: you have not ordered yet.",
                        when=_when(d.orders_close_at, tz),
                    ),
                    shop,
                )
    if state == Status.CLOSED and d.starts_at - now <= timedelta(hours=24):
        for u in (m for m in members if m.id in buyers):
            add(
                u,
                "basket_tomorrow",
                lambda: _basket_ready_title(group, d, now),
                lambda: _(
                    "Distribution on %(when)s at %(place)s.",
                    when=_when(d.starts_at, tz),
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
                lambda duty=duty: _(
                    "%(group)s: you are on duty on %(day)s (%(role)s)",
                    group=group.name,
                    day=day(),
                    role=duty.role_name,
                ),
                lambda: _(
                    "Distribution on %(when)s at %(place)s.",
                    when=_when(d.starts_at, tz),
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
                    lambda: _(
                        "%(group)s: volunteers wanted on %(day)s", group=group.name, day=day()
                    ),
                    lambda: _(
                        "Some duties of %(when)s are still free.", when=_when(d.starts_at, tz)
                    ),
                    url_for("roster.index"),
                )
    if state == Status.DISTRIBUTED:
        for u in _members(session, group, coordinators_only=True):
            add(
                u,
                "to_validate",
                lambda: _(
                    "%(group)s: the distribution of %(day)s is waiting for validation",
                    group=group.name,
                    day=day(),
                ),
                lambda: _("The distribution of %(when)s is over.", when=_when(d.starts_at, tz)),
                url_for("validation.page", distribution_id=d.id),
            )
    return out


def _basket_ready_title(group: Group, d: Distribution, now: datetime) -> str:
    """The basket reminder's title: "tomorrow" only when it is tomorrow for the group."""
    days = dates.days_until(d.starts_at, now, group.timezone)
    if days == 0:
        return _("%(group)s: your basket is ready today", group=group.name)
    if days == 1:
        return _("%(group)s: your basket is ready for tomorrow", group=group.name)
    return _(
        "%(group)s: your basket is ready for %(day)s",
        group=group.name,
        day=_day(d.starts_at, group.timezone),
    )


def queue_due(session: Session, *, now: datetime, distribution_ids: list[int] | None = None) -> int:
    """Queue in the outbox every reminder due at `now` not queued before (for the
    distributions given, or all); return how many. `due_messages` already left out what
    the outbox or the older log hold; `outbox.queue` keeps one row per key if another
    sender queues the same at the same moment."""
    queued = 0
    for message in due_messages(session, now=now, distribution_ids=distribution_ids):
        row = outbox.queue(
            session,
            kind=message.kind,
            ref=message.ref,
            title=message.title,
            body=message.body,
            url=message.url,
            user=message.user,
            email=message.email,
            group_id=message.group_id,
            channel=message.channel,
            now=now,
        )
        queued += row is not None
    return queued


def has_push(session: Session, user: User) -> list[PushSubscription]:
    return list(
        session.scalars(select(PushSubscription).where(PushSubscription.user_id == user.id))
    )
