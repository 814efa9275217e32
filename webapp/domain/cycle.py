"""The order cycle of one distribution day.

    scheduled --(orders_open_at)--> open --(orders_close_at)--> closed
       --(starts_at)--> distributing --(ends_at)--> distributed --(validate)--> validated
    scheduled | open | closed --(cancel)--> cancelled

Only `validated_at` and `cancelled_at` are stored; every other state follows from the
clock, so `status()` takes `now` as a parameter and never reads the time itself.

What may happen in which state is one table, `ACTIONS` (action x state -> allowed, or
the reason refused), asked by every service through `refusal()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class Status(StrEnum):
    SCHEDULED = "scheduled"
    OPEN = "open"
    CLOSED = "closed"
    DISTRIBUTING = "distributing"
    DISTRIBUTED = "distributed"
    VALIDATED = "validated"
    CANCELLED = "cancelled"


class Window(Protocol):
    orders_open_at: datetime
    orders_close_at: datetime
    starts_at: datetime
    ends_at: datetime
    validated_at: datetime | None
    cancelled_at: datetime | None


def status(distribution: Window, now: datetime) -> Status:
    """Return the state of a distribution at `now`."""
    if distribution.cancelled_at is not None:
        return Status.CANCELLED
    if distribution.validated_at is not None:
        return Status.VALIDATED
    if now < distribution.orders_open_at:
        return Status.SCHEDULED
    if now < distribution.orders_close_at:
        return Status.OPEN
    if now < distribution.starts_at:
        return Status.CLOSED
    if now < distribution.ends_at:
        return Status.DISTRIBUTING
    return Status.DISTRIBUTED


@dataclass(frozen=True)
class WindowError:
    """Why a set of dates cannot make a distribution; `field` names the culprit."""

    field: str
    code: str


def check_window(
    orders_open_at: datetime,
    orders_close_at: datetime,
    starts_at: datetime,
    ends_at: datetime,
) -> list[WindowError]:
    """List what is wrong with a distribution's dates (open < close <= start < end)."""
    errors = []
    if not orders_open_at < orders_close_at:
        errors.append(WindowError("orders_close_at", "close_before_open"))
    if not orders_close_at <= starts_at:
        errors.append(WindowError("orders_close_at", "close_after_start"))
    if not starts_at < ends_at:
        errors.append(WindowError("ends_at", "end_before_start"))
    return errors


class Action(StrEnum):
    """What people do to a distribution day and its baskets."""

    ORDER = "order"  # a member changes their own basket in the shop
    CHANGE_BASKET = "change_basket"  # a coordinator changes a member's basket
    RECORD_EVENTS = "record_events"  # a tablet sends pickups, payments, signatures
    CORRECT = "correct"  # a coordinator corrects the day (payment, price, not delivered)
    VALIDATE_BASKET = "validate_basket"
    VALIDATE_DAY = "validate_day"
    UNDO = "undo"  # undo a validation (reversing entries)
    CANCEL = "cancel"
    REMOVE_UNAVAILABLE = "remove_unavailable"
    EDIT = "edit"  # change the distribution's dates, place, catalogues
    EDIT_OFFER = "edit_offer"  # switch a product off, or set its stock, for this day only
    ORDER_WINDOW = "order_window"  # open orders now (scheduled) or close them now (open)


OK = None
_S = Status
_BEFORE = {_S.SCHEDULED, _S.OPEN, _S.CLOSED}
_DAY = {_S.DISTRIBUTING, _S.DISTRIBUTED}
_ALL = set(Status)


def _row(allowed: set[Status], refusals: dict[Status, str]) -> dict[Status, str | None]:
    row = {state: OK for state in allowed}
    row.update(refusals)
    assert set(row) == _ALL, f"every state needs an answer: {_ALL - set(row)}"
    return row


# action -> state -> None (allowed) or the reason code of the refusal. The reason codes
# are translated into sentences by the services (webapp/services/cycle_rules.py).
ACTIONS: dict[Action, dict[Status, str | None]] = {
    Action.ORDER: _row(
        {_S.OPEN},
        {
            _S.SCHEDULED: "orders_not_open_yet",
            _S.CLOSED: "orders_closed",
            _S.DISTRIBUTING: "orders_closed",
            _S.DISTRIBUTED: "orders_closed",
            _S.VALIDATED: "orders_closed",
            _S.CANCELLED: "cancelled",
        },
    ),
    Action.CHANGE_BASKET: _row(
        _BEFORE | _DAY, {_S.VALIDATED: "validated_undo_first", _S.CANCELLED: "cancelled"}
    ),
    # After validation the tablet's events are still stored, flagged late for review:
    # nothing a volunteer recorded is ever dropped.
    Action.RECORD_EVENTS: _row(
        {_S.CLOSED, _S.DISTRIBUTING, _S.DISTRIBUTED, _S.VALIDATED},
        {_S.SCHEDULED: "sheet_not_ready", _S.OPEN: "sheet_not_ready", _S.CANCELLED: "cancelled"},
    ),
    Action.CORRECT: _row(
        {_S.CLOSED} | _DAY,
        {
            _S.SCHEDULED: "orders_not_closed",
            _S.OPEN: "orders_not_closed",
            _S.VALIDATED: "validated_undo_first",
            _S.CANCELLED: "cancelled",
        },
    ),
    Action.VALIDATE_BASKET: _row(
        _DAY,
        {
            _S.SCHEDULED: "not_started",
            _S.OPEN: "not_started",
            _S.CLOSED: "not_started",
            _S.VALIDATED: "already_validated",
            _S.CANCELLED: "cancelled",
        },
    ),
    Action.VALIDATE_DAY: _row(
        _DAY,
        {
            _S.SCHEDULED: "not_started",
            _S.OPEN: "not_started",
            _S.CLOSED: "not_started",
            _S.VALIDATED: "already_validated",
            _S.CANCELLED: "cancelled",
        },
    ),
    # Undo of a day or of one basket: a basket validated alone leaves the day in
    # distributing/distributed, so undo is allowed there too (the basket is checked).
    Action.UNDO: _row(
        _DAY | {_S.VALIDATED},
        {
            _S.SCHEDULED: "not_validated",
            _S.OPEN: "not_validated",
            _S.CLOSED: "not_validated",
            _S.CANCELLED: "cancelled",
        },
    ),
    Action.CANCEL: _row(
        _BEFORE,
        {
            _S.DISTRIBUTING: "already_took_place",
            _S.DISTRIBUTED: "already_took_place",
            _S.VALIDATED: "already_took_place",
            _S.CANCELLED: "already_cancelled",
        },
    ),
    Action.REMOVE_UNAVAILABLE: _row(
        {_S.OPEN, _S.CLOSED} | _DAY,
        {
            _S.SCHEDULED: "orders_not_open_yet",
            _S.VALIDATED: "validated_undo_first",
            _S.CANCELLED: "cancelled",
        },
    ),
    Action.EDIT: _row(
        _BEFORE,
        {
            _S.DISTRIBUTING: "already_took_place",
            _S.DISTRIBUTED: "already_took_place",
            _S.VALIDATED: "already_took_place",
            _S.CANCELLED: "cancelled",
        },
    ),
    # The closing step switches products off (red lines) until the day is validated.
    Action.EDIT_OFFER: _row(
        _BEFORE | _DAY, {_S.VALIDATED: "validated_undo_first", _S.CANCELLED: "cancelled"}
    ),
    # The service says which of the two moves fits the state (open when scheduled, close
    # when open).
    Action.ORDER_WINDOW: _row(
        {_S.SCHEDULED, _S.OPEN},
        {
            _S.CLOSED: "orders_closed",
            _S.DISTRIBUTING: "already_took_place",
            _S.DISTRIBUTED: "already_took_place",
            _S.VALIDATED: "already_took_place",
            _S.CANCELLED: "cancelled",
        },
    ),
}

# What a validated basket (in a day not yet validated as a whole) refuses.
BASKET_CLOSED: dict[Action, str | None] = {
    Action.CHANGE_BASKET: "basket_validated_undo_first",
    Action.CORRECT: "basket_validated_undo_first",
    Action.VALIDATE_BASKET: "basket_already_validated",
    Action.RECORD_EVENTS: OK,  # stored, flagged late
    Action.UNDO: OK,
}


def refusal(action: Action, state: Status, *, basket_validated: bool = False) -> str | None:
    """The reason code why `action` is refused in `state` (for a basket if given); None if
    allowed."""
    reason = ACTIONS[action][state]
    if reason is None and basket_validated:
        reason = BASKET_CLOSED.get(action)
    return reason
