"""The order cycle of one distribution day.

    scheduled --(orders_open_at)--> open --(orders_close_at)--> closed
       --(starts_at)--> distributing --(ends_at)--> distributed --(validate)--> validated

Only `validated_at` is stored; every other state follows from the clock, so
`status()` takes `now` as a parameter and never reads the time itself.
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


class Window(Protocol):
    orders_open_at: datetime
    orders_close_at: datetime
    starts_at: datetime
    ends_at: datetime
    validated_at: datetime | None


def status(distribution: Window, now: datetime) -> Status:
    """Return the state of a distribution at `now`."""
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
