"""Membership periods and fees, as pure rules.

A period is a year from the first day of the group's start month (January: the calendar
year). A fee is "none", "fixed" (exactly the amount) or "free" (at least the minimum).
"""

from __future__ import annotations

from datetime import date

FEE_TOO_LOW, FEE_NOT_FIXED, NO_FEE = "fee_too_low", "fee_not_fixed", "no_fee"


def period_of(day: date, start_month: int) -> tuple[date, date]:
    """The membership period holding `day`: its first day and the first day after it."""
    year = day.year if day.month >= start_month else day.year - 1
    return date(year, start_month, 1), date(year + 1, start_month, 1)


def next_period(start: date) -> tuple[date, date]:
    """The period after the one starting on `start`."""
    return date(start.year + 1, start.month, 1), date(start.year + 2, start.month, 1)


def period_label(start: date) -> str:
    """ "2026" for a calendar year, "2026-2027" for a year from another month."""
    return str(start.year) if start.month == 1 else f"{start.year}-{start.year + 1}"


def fee_refusal(mode: str, fee_cents: int | None, amount_cents: int) -> str | None:
    """Why this amount does not pay the fee, as a reason code; None when it does."""
    if mode == "none":
        return NO_FEE
    if amount_cents <= 0:
        return FEE_TOO_LOW
    if mode == "fixed" and amount_cents != fee_cents:
        return FEE_NOT_FIXED
    if mode == "free" and amount_cents < (fee_cents or 0):
        return FEE_TOO_LOW
    return None
