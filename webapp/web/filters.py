"""Jinja filters: money and dates per locale."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from flask import Flask
from flask_babel import format_currency, format_date, format_datetime, format_decimal, get_locale


def money(cents: int | None) -> str:
    """1 234,50 € in French, €1,234.50 in English."""
    if cents is None:
        return ""
    return format_currency(Decimal(cents) / 100, "EUR")


def quantity(value: Decimal | None) -> str:
    if value is None:
        return ""
    return format_decimal(value, format="#,##0.###")


def day(value: datetime) -> str:
    return format_date(value, format="full")


def when(value: datetime, fmt: str = "medium") -> str:
    if fmt == "short_time":
        return format_datetime(value, format="HH:mm")
    if fmt == "day_time":
        return format_datetime(value, format="EEEE d MMMM, HH:mm")
    return format_datetime(value, format=fmt)


def register(app: Flask) -> None:
    app.jinja_env.filters.update(money=money, quantity=quantity, day=day, when=when)
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale())
