"""Reading distributions of a group; telling its members when one moves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import case, delete, or_, select
from sqlalchemy.orm import Session, selectinload

from ..domain.cycle import Status
from ..domain.money import basket_total_cents
from ..models import (
    Basket,
    Distribution,
    DutyAssignment,
    Group,
    OrderLine,
    OutboxMessage,
    Place,
    User,
)
from . import dates, outbox


@dataclass(frozen=True)
class DistributionRow:
    distribution: Distribution
    status: Status
    basket: Basket | None
    basket_total_cents: int | None
    on_duty: bool = False


def coming_distributions(
    session: Session, group: Group, *, user: User, now: datetime, past_days: int = 7
) -> list[DistributionRow]:
    """Distributions of the group from a week ago on, with the user's basket total."""
    distributions = session.scalars(
        select(Distribution)
        .where(
            Distribution.group_id == group.id,
            Distribution.cancelled_at.is_(None),
            Distribution.ends_at >= now - timedelta(days=past_days),
        )
        .options(selectinload(Distribution.place), selectinload(Distribution.catalogues))
        .order_by(Distribution.starts_at)
    ).all()
    baskets = {
        b.distribution_id: b
        for b in session.scalars(
            select(Basket)
            .where(
                Basket.user_id == user.id, Basket.distribution_id.in_([d.id for d in distributions])
            )
            .options(selectinload(Basket.lines))
        )
    }
    duties = set(
        session.scalars(
            select(DutyAssignment.distribution_id).where(
                DutyAssignment.user_id == user.id,
                DutyAssignment.distribution_id.in_([d.id for d in distributions]),
            )
        )
    )
    rows = []
    for d in distributions:
        basket = baskets.get(d.id)
        lines = [line.as_line() for line in basket.lines if line.quantity > 0] if basket else []
        total = basket_total_cents(lines) if lines else None
        rows.append(DistributionRow(d, d.status(now), basket, total, d.id in duties))
    return rows


def planning_query(group: Group, *, now: datetime):
    """A coordinator's list: coming ones first (soonest first, the one under way too), then
    past ones (newest first); id last, so that pages of it neither repeat nor skip."""
    coming = Distribution.ends_at >= now
    return (
        select(Distribution)
        .where(Distribution.group_id == group.id)
        .options(selectinload(Distribution.place), selectinload(Distribution.catalogues))
        .order_by(
            case((coming, 0), else_=1),
            case((coming, Distribution.starts_at)),
            Distribution.starts_at.desc(),
            Distribution.id.desc(),
        )
    )


# A distribution moving: what its members notice is when and where it is.
MOVED = "distribution_moved"
# Reminders that quote a distribution's day or place: queued but not sent yet when it
# moves, they go, and the next pass of the reminders writes them again with the new ones.
DATED_REMINDERS = (
    "orders_open",
    "orders_closing",
    "basket_tomorrow",
    "duty_reminder",
    "roles_vacant",
)


def whereabouts(distribution: Distribution) -> tuple[datetime, datetime, int]:
    """When and where a distribution is: what a change of is told to its members."""
    return (distribution.starts_at, distribution.ends_at, distribution.place_id)


def tell_moved(
    session: Session,
    distribution: Distribution,
    before: tuple[datetime, datetime, int],
    *,
    now: datetime,
) -> int:
    """After an edit: tell every member who ordered for the distribution or is on duty at
    it its new day, hours and place (one message each, in their language); nothing when
    neither changed (`before` is `whereabouts` before the edit). Returns how many."""
    if whereabouts(distribution) == tuple(before):
        return 0
    old_start, _old_end, old_place_id = before
    group = session.get(Group, distribution.group_id)
    place = session.get(Place, distribution.place_id)
    old_place = session.get(Place, old_place_id) or place
    d = distribution
    session.execute(
        delete(OutboxMessage)
        .where(
            OutboxMessage.ref == f"d{d.id}",
            OutboxMessage.state == "queued",
            OutboxMessage.kind.in_(DATED_REMINDERS),
        )
        .execution_options(synchronize_session=False)
    )
    buyers = set(
        session.scalars(
            select(Basket.user_id)
            .join(OrderLine)
            .where(Basket.distribution_id == d.id, OrderLine.quantity > 0)
        )
    )
    on_duty = select(DutyAssignment.user_id).where(DutyAssignment.distribution_id == d.id)
    people = session.scalars(
        select(User).where(or_(User.id.in_(buyers), User.id.in_(on_duty))).order_by(User.id)
    ).all()
    ref = f"d{d.id}:{d.starts_at:%Y%m%d%H%M}-{d.ends_at:%H%M}p{d.place_id}@{now:%Y%m%d%H%M%S}"
    tz = group.timezone
    told = 0
    for person in people:
        with force_locale(person.locale or group.locale or "fr"):
            old_day = dates.day(old_start, tz)
            title = _(
                "%(group)s: the distribution of %(day)s is moved", group=group.name, day=old_day
            )
            body = _(
                "The distribution planned on %(old)s at %(old_place)s now takes place on "
                "%(when)s (until %(end)s) at %(place)s.",
                old=dates.day_time(old_start, tz),
                old_place=old_place.name,
                when=dates.day_time(d.starts_at, tz),
                end=dates.time(d.ends_at, tz),
                place=place.name,
            )
            if place.address:
                body += "\n" + _("Address: %(address)s", address=place.address)
        url = (
            url_for("shop.shop", distribution_id=d.id)
            if person.id in buyers
            else url_for("roster.index")
        )
        row = outbox.queue(
            session,
            kind=MOVED,
            ref=ref,
            title=title,
            body=body,
            url=url,
            user=person,
            group_id=group.id,
            now=now,
        )
        told += row is not None
    return told
