"""Coordinators plan distribution days: places, one distribution or a series, cancels,
and opening or closing orders now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.cycle import Action, Status, check_window
from ..models import Basket, Catalogue, Distribution, Group, Place, User
from . import ServiceError, audit, cycle_rules

MAX_SERIES = 60


def save_place(
    session: Session, group: Group, place: Place | None, *, name: str, address: str
) -> Place:
    if not name.strip():
        raise ServiceError(_("A name is required."), field="name")
    if place is None:
        place = Place(group_id=group.id)
        session.add(place)
    place.name, place.address = name.strip(), address.strip()
    session.flush()
    return place


@dataclass(frozen=True)
class Window:
    starts_at: datetime
    ends_at: datetime
    orders_open_at: datetime
    orders_close_at: datetime


WINDOW_MESSAGES = {
    "close_before_open": ("orders_close_at", _l("Orders must close after they open.")),
    "close_after_start": (
        "orders_close_at",
        _l("Orders must close before the distribution starts."),
    ),
    "end_before_start": ("ends_at", _l("The distribution must end after it starts.")),
}


# Dates a distribution can have: far enough from datetime's limits that a series (five
# years of months at most) and the day's arithmetic never overflow.
FIRST_YEAR, LAST_YEAR = 2000, 2100


def check(window: Window) -> dict[str, str]:
    """Field errors of a window, translated."""
    errors = {}
    for field in ("starts_at", "ends_at", "orders_open_at", "orders_close_at"):
        if not FIRST_YEAR <= getattr(window, field).year <= LAST_YEAR:
            errors[field] = _(
                "Enter a date between %(first)d and %(last)d.", first=FIRST_YEAR, last=LAST_YEAR
            )
    if errors:
        return errors
    for error in check_window(
        window.orders_open_at, window.orders_close_at, window.starts_at, window.ends_at
    ):
        field, message = WINDOW_MESSAGES[error.code]
        errors.setdefault(field, str(message))
    return errors


def series(first: Window, *, every_days: int | None, monthly: bool, count: int) -> list[Window]:
    """The windows of a series: each day shifted, the order window kept relative to it."""
    if not 1 <= count <= MAX_SERIES:
        raise ServiceError(
            _("A series has between 1 and %(n)d distributions.", n=MAX_SERIES), field="count"
        )
    windows = []
    for i in range(count):
        if monthly:
            shift = _months(first.starts_at, i) - first.starts_at
        else:
            shift = timedelta(days=(every_days or 7) * i)
        windows.append(
            Window(
                first.starts_at + shift,
                first.ends_at + shift,
                first.orders_open_at + shift,
                first.orders_close_at + shift,
            )
        )
    return windows


def _months(moment: datetime, n: int) -> datetime:
    """The same weekday position n months later (e.g. every first Thursday)."""
    week = (moment.day - 1) // 7
    year, month = divmod(moment.month - 1 + n, 12)
    first_day = moment.replace(year=moment.year + year, month=month + 1, day=1)
    offset = (moment.weekday() - first_day.weekday()) % 7
    return first_day + timedelta(days=offset + 7 * min(week, 3))


def create_distributions(
    session: Session,
    group: Group,
    *,
    place: Place,
    catalogues: list[Catalogue],
    windows: list[Window],
) -> list[Distribution]:
    """Create one distribution per window, all checked before anything is written."""
    if place.group_id != group.id or any(c.group_id != group.id for c in catalogues):
        raise ServiceError(_("Unknown place or catalogue."), status=404)
    if not catalogues:
        raise ServiceError(_("Choose at least one catalogue."), field="catalogues")
    for window in windows:
        errors = check(window)
        if errors:
            field, message = next(iter(errors.items()))
            raise ServiceError(message, field=field)
    created = []
    for window in windows:
        d = Distribution(
            group_id=group.id,
            place_id=place.id,
            starts_at=window.starts_at,
            ends_at=window.ends_at,
            orders_open_at=window.orders_open_at,
            orders_close_at=window.orders_close_at,
        )
        d.catalogues = list(catalogues)
        session.add(d)
        created.append(d)
    session.flush()
    return created


def update_distribution(
    session: Session,
    distribution: Distribution,
    *,
    place: Place,
    catalogues: list[Catalogue],
    window: Window,
    actor: User,
    now: datetime,
) -> Distribution:
    """Change a coming distribution's place, catalogues and dates (kept in the audit trail)."""
    cycle_rules.check(Action.EDIT, distribution, now)
    errors = check(window)
    if errors:
        field, message = next(iter(errors.items()))
        raise ServiceError(message, field=field)
    if not catalogues:
        raise ServiceError(_("Choose at least one catalogue."), field="catalogues")
    names = ("starts_at", "ends_at", "orders_open_at", "orders_close_at")
    before = _described(distribution, names)
    distribution.place_id = place.id
    distribution.catalogues = list(catalogues)
    for name in names:
        setattr(distribution, name, getattr(window, name))
    after = _described(distribution, names)
    if before != after:
        audit.record(
            session,
            group_id=distribution.group_id,
            actor=actor,
            action="edit_distribution",
            now=now,
            distribution_id=distribution.id,
            before={k: v for k, v in before.items() if after[k] != v},
            after={k: v for k, v in after.items() if before[k] != v},
        )
    session.flush()
    return distribution


def _described(distribution: Distribution, names: tuple[str, ...]) -> dict:
    described = {name: getattr(distribution, name).isoformat() for name in names}
    described["place_id"] = distribution.place_id
    described["catalogues"] = sorted(c.id for c in distribution.catalogues)
    return described


def cancel_distribution(
    session: Session, distribution: Distribution, *, actor: User, now: datetime
) -> list[User]:
    """Cancel a distribution; return the members who had ordered, to be told."""
    cycle_rules.check(Action.CANCEL, distribution, now)
    distribution.cancelled_at = now
    buyers = list(
        session.scalars(
            select(User)
            .join(Basket, Basket.user_id == User.id)
            .where(Basket.distribution_id == distribution.id)
        )
    )
    audit.record(
        session,
        group_id=distribution.group_id,
        actor=actor,
        action="cancel",
        now=now,
        distribution_id=distribution.id,
        after={"members_told": len(buyers)},
    )
    session.flush()
    return buyers


def open_orders_now(
    session: Session, distribution: Distribution, *, actor: User, now: datetime
) -> Distribution:
    """Open a scheduled distribution's orders at `now` (kept in the audit trail)."""
    state = cycle_rules.check(Action.ORDER_WINDOW, distribution, now)
    if state != Status.SCHEDULED:
        raise ServiceError(_("Orders are already open."), status=409)
    return _move_window(session, distribution, "orders_open_at", now, actor=actor)


def close_orders_now(
    session: Session, distribution: Distribution, *, actor: User, now: datetime
) -> Distribution:
    """Close an open distribution's orders at `now` (kept in the audit trail)."""
    state = cycle_rules.check(Action.ORDER_WINDOW, distribution, now)
    if state != Status.OPEN or now <= distribution.orders_open_at:
        # At the very instant orders open, closing them would leave an empty window.
        raise ServiceError(cycle_rules.reason_text("orders_not_open_yet", distribution), status=409)
    return _move_window(session, distribution, "orders_close_at", now, actor=actor)


def _move_window(
    session: Session, distribution: Distribution, name: str, now: datetime, *, actor: User
) -> Distribution:
    before = getattr(distribution, name)
    setattr(distribution, name, now)
    audit.record(
        session,
        group_id=distribution.group_id,
        actor=actor,
        action="open_orders" if name == "orders_open_at" else "close_orders",
        now=now,
        distribution_id=distribution.id,
        before={name: before.isoformat()},
        after={name: now.isoformat()},
    )
    session.flush()
    return distribution
