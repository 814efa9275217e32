"""Dates as people read them, one style per kind of date, in the reader's language.

- a distribution's day: ``day`` -> "samedi 28 novembre 2026" / "Saturday, November 28, 2026"
- a deadline or a start: ``day_time`` -> "samedi 28 novembre, 18:00" /
  "Saturday, November 28, 6:00 PM"
- when something happened (history, trail, messages): ``moment`` -> "28 nov. 2026, 10:05" /
  "Nov 28, 2026, 10:05 AM"
- a day in a list (a payment's date): ``date`` -> "28 nov. 2026" / "Nov 28, 2026"
- a time alone: ``time`` -> "18:00" / "6:00 PM"

Pages (`webapp.web.filters`), e-mails and refusals all call these, so a style is changed
here once. Capitalising a date for a heading only upper-cases its first letter (Jinja's
own `capitalize` lower-cases the rest: "Saturday, november 28").
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import format_date, format_datetime, format_time, get_locale

# Babel's skeletons drop the weekday's full name; these patterns keep each language's order.
_DAY_MONTH = {"en": "EEEE, MMMM d", "fr": "EEEE d MMMM"}


def _lang() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "fr"


def day(value: datetime) -> str:
    return format_date(value, format="full")


def day_time(value: datetime) -> str:
    pattern = _DAY_MONTH.get(_lang(), _DAY_MONTH["fr"])
    return f"{format_datetime(value, pattern)}, {time(value)}"


def day_month(value: datetime) -> str:
    return format_datetime(value, _DAY_MONTH.get(_lang(), _DAY_MONTH["fr"]))


def date(value) -> str:
    """A day in a list or a table (a payment's date): "28 nov. 2026" / "Nov 28, 2026"."""
    return format_date(value, format="medium")


def moment(value: datetime) -> str:
    return f"{format_date(value, format='medium')}, {time(value)}"


def time(value: datetime) -> str:
    return format_time(value, format="short")


def first_upper(text: str) -> str:
    """'samedi 28 novembre' -> 'Samedi 28 novembre'; leaves 'Saturday, November 28' alone."""
    text = str(text)
    return text[:1].upper() + text[1:]
