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

from babel import dates as babel_dates
from flask_babel import format_date as _format_date
from flask_babel import format_datetime as _format_datetime
from flask_babel import format_time as _format_time
from flask_babel import get_locale

# `tz`: a group's time zone name, for messages written outside a request of that group
# (the reminders' loop); pages use the request's own (the group's, `web/i18n.py`).


def format_date(value, format="medium", tz: str | None = None) -> str:
    if tz is None:
        return _format_date(value, format=format)
    if isinstance(value, datetime):
        value = value.astimezone(babel_dates.get_timezone(tz))
    return babel_dates.format_date(value, format=format, locale=get_locale())


def format_datetime(value, format="medium", tz: str | None = None) -> str:
    if tz is None:
        return _format_datetime(value, format=format)
    return babel_dates.format_datetime(
        value, format=format, tzinfo=babel_dates.get_timezone(tz), locale=get_locale()
    )


def format_time(value, format="short", tz: str | None = None) -> str:
    if tz is None:
        return _format_time(value, format=format)
    return babel_dates.format_time(
        value, format=format, tzinfo=babel_dates.get_timezone(tz), locale=get_locale()
    )


# Babel's skeletons drop the weekday's full name; these patterns keep each language's order.
_DAY_MONTH = {"en": "EEEE, MMMM d", "fr": "EEEE d MMMM"}


def _lang() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "fr"


def day(value: datetime, tz: str | None = None) -> str:
    return format_date(value, format="full", tz=tz)


def day_time(value: datetime, tz: str | None = None) -> str:
    pattern = _DAY_MONTH.get(_lang(), _DAY_MONTH["fr"])
    return f"{format_datetime(value, pattern, tz)}, {time(value, tz)}"


def day_month(value: datetime, tz: str | None = None) -> str:
    return format_datetime(value, _DAY_MONTH.get(_lang(), _DAY_MONTH["fr"]), tz)


def date(value) -> str:
    """A day in a list or a table (a payment's date): "28 nov. 2026" / "Nov 28, 2026"."""
    return format_date(value, format="medium")


def moment(value: datetime, tz: str | None = None) -> str:
    return f"{format_date(value, format='medium', tz=tz)}, {time(value, tz)}"


def time(value: datetime, tz: str | None = None) -> str:
    return format_time(value, format="short", tz=tz)


def days_until(value: datetime, now: datetime, tz: str) -> int:
    """Calendar days from `now` to `value` in the time zone `tz`: 0 today, 1 tomorrow."""
    zone = babel_dates.get_timezone(tz)
    return (value.astimezone(zone).date() - now.astimezone(zone).date()).days


def first_upper(text: str) -> str:
    """'samedi 28 novembre' -> 'Samedi 28 novembre'; leaves 'Saturday, November 28' alone."""
    text = str(text)
    return text[:1].upper() + text[1:]
