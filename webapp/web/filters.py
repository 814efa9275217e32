"""Jinja filters and globals: money, quantities, units and dates per locale."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import lru_cache

from babel.numbers import format_currency, format_decimal
from flask import Flask, url_for
from flask_babel import format_datetime, get_locale, pgettext
from flask_babel import gettext as _

from ..services import dates
from .once import form_key_field
from .units import unit_label as _unit_label


def _locale() -> str:
    """The current locale as a string; str(Locale) is slow and hot in long lists."""
    return _locale_name(get_locale())


@lru_cache(maxsize=16)
def _locale_name(locale) -> str:
    return str(locale)


def money(cents: int | None, locale: str | None = None) -> str:
    """1 234,50 € in French, €1,234.50 in English (`locale` saves a lookup in long lists)."""
    if cents is None:
        return ""
    return _money(int(cents), locale or _locale())


@lru_cache(maxsize=8192)
def _money(cents: int, locale: str) -> str:
    # Formatting is pure per (amount, locale); a shop page formats hundreds of prices.
    return format_currency(Decimal(cents) / 100, "EUR", locale=locale)


def quantity(value: Decimal | None, locale: str | None = None) -> str:
    """1,5 in French, 1.5 in English; no trailing zeros."""
    if value is None:
        return ""
    return _quantity(Decimal(value), locale or _locale())


@lru_cache(maxsize=8192)
def _quantity(value: Decimal, locale: str) -> str:
    return format_decimal(value, format="#,##0.###", locale=locale)


def amount_input(cents: int | None) -> str:
    """An amount as typed in a field: "12,50" in French, "12.50" in English (no symbol, no
    grouping: the parsers read both separators)."""
    if cents is None:
        return ""
    return format_decimal(Decimal(int(cents)) / 100, format="0.00", locale=_locale())


def number_input(value) -> str:
    """A number as typed in a field: "5,5" in French, "5.5" in English."""
    if value is None or value == "":
        return ""
    return format_decimal(Decimal(str(value)), format="0.###", locale=_locale())


def audit_values(values: dict | None) -> str:
    """What an audit entry recorded, in words: "Quantité 1 · Prix 4,50 €"."""
    if not values:
        return ""
    names = {
        "quantity": _("Quantity"),
        "unit_price_cents": _("Price"),
        "amount_cents": _("Amount"),
        "due_cents": _("Due"),
        "paid": _("Paid"),
        "note": _("Note"),
        "entries": _("Entries"),
        "members_told": _("Members told"),
        "state": _("State"),
        "method": _("Payment method"),
        "starts_at": _("Start"),
        "ends_at": _("End"),
        "orders_open_at": _("Orders open"),
        "orders_close_at": _("Orders close"),
        "paid_on": _("Paid on"),
        "active": _("Available"),
        "stock": _("Stock"),
        "given_to": _("Basket given to"),
    }
    parts = []
    for key, value in values.items():
        if value == "":
            continue  # nothing said (no one named, no note)
        if value is None or isinstance(value, bool):
            shown = {None: _("unlimited") if key == "stock" else "—", True: _("yes")}
            parts.append(f"{names.get(key, key)} {shown.get(value, _('no'))}")
        elif key.endswith(("_at", "_on")) and isinstance(value, str):
            parts.append(f"{names.get(key, key)} {_moment(value)}")
        elif key in ("cash", "cheque", "card", "transfer", "balance"):
            parts.append(f"{method_label(key)} {money(value)}")
        elif key == "paid" and isinstance(value, dict):
            paid = ", ".join(f"{method_label(m)} {money(v)}" for m, v in value.items())
            parts.append(f"{names['paid']} {paid or money(0)}")
        elif key.endswith("_cents") and isinstance(value, int):
            parts.append(f"{names.get(key, key)} {money(value)}")
        elif key == "quantity":
            parts.append(f"{names['quantity']} {quantity(Decimal(str(value)))}")
        elif key == "method":
            parts.append(method_label(value))
        elif key == "state":
            parts.append(
                {"not_taken": _("Not collected"), "taken": _("Collected")}.get(value, value)
            )
        else:
            parts.append(f"{names.get(key, key)} {value}")
    return " · ".join(parts)


def _moment(text: str) -> str:
    """A date or moment an audit entry kept as ISO text, in the reader's words."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return text
    if len(text) <= 10:  # a day
        return dates.date(value)
    return dates.moment(value)


def method_label(method: str | None) -> str:
    """A payment method's name in the reader's language (codes never reach a person)."""
    names = {
        "cash": _("Cash"),
        "cheque": _("Cheque"),
        "card": _("Card"),
        "transfer": _("Transfer"),
        "balance": _("From balance"),
    }
    return names.get(method or "", method or "")


def ledger_kind(kind: str | None) -> str:
    """An account entry's kind in the reader's language ("Commande", not "Commander")."""
    names = {
        "order": pgettext("account entry", "Order"),
        "payment": pgettext("account entry", "Payment"),
        "refund": pgettext("account entry", "Refund"),
        "correction": pgettext("account entry", "Correction"),
        "reversal": pgettext("account entry", "Reversal"),
        "membership": pgettext("account entry", "Membership"),
    }
    return names.get(kind or "", kind or "")


def unit_label(unit: str, per_unit: Decimal | None = None, locale: str | None = None) -> str:
    """'kg', 'botte', 'pot de 0,5 kg'... in the request's language."""
    return _unit_label(unit, Decimal(per_unit or 1), locale or _locale())


def can(action: str, distribution, basket=None) -> bool:
    """Whether a page offers `action` on this distribution now: the cycle's action table
    (`domain.cycle.ACTIONS`), the same one the services check."""
    from .. import clock
    from ..domain.cycle import Action
    from ..services.cycle_rules import allowed

    return allowed(Action(action), distribution, clock.now(), basket=basket)


def photo_url(name: str, thumb: bool = False) -> str:
    if thumb:
        name = name.replace(".webp", "-thumb.webp")
    return url_for("main.photo", name=name)


def day(value: datetime) -> str:
    """A distribution's day (one style everywhere, see `services.dates`)."""
    return dates.day(value)


def when(value: datetime, fmt: str = "moment") -> str:
    """A moment in one of the app's date styles: "moment" (when something happened, also
    "short" and "medium"), "day_time" (a deadline), "short_time" (a time), "date" (a day
    in a list: "28 nov. 2026"), "d MMM"."""
    if fmt == "short_time":
        return dates.time(value)
    if fmt == "day_time":
        return dates.day_time(value)
    if fmt in ("moment", "short", "medium"):
        return dates.moment(value)
    if fmt == "date":
        return dates.date(value)
    return format_datetime(value, format=fmt)


def register(app: Flask) -> None:
    app.jinja_env.filters.update(
        money=money,
        quantity=quantity,
        amount_input=amount_input,
        number_input=number_input,
        day=day,
        when=when,
        # Jinja's own lower-cases all but the first letter ("Saturday, november 28").
        capitalize=dates.first_upper,
        zip=lambda a, b: list(zip(a, b, strict=False)),
    )
    app.jinja_env.globals.update(
        current_locale=lambda: str(get_locale()),
        unit_label=unit_label,
        photo_url=photo_url,
        signin_lines=signin_lines,
        form_key_field=form_key_field,
        method_label=method_label,
        ledger_kind=ledger_kind,
        can=can,
        audit_values=audit_values,
    )


# Sold by measure: the quantity reads "1,2 kg", not "1,2 ×".
_MEASURES = frozenset({"kg", "g", "litre", "cl"})


def how_many(line, locale: str | None = None) -> str:
    """A line's quantity as a volunteer reads it on the sheet: "2 ×", "1,2 kg"."""
    product = line.product
    q = quantity(line.quantity, locale)
    if product.unit in _MEASURES and Decimal(product.quantity_per_unit or 1) == 1:
        return f"{q} {unit_label(product.unit, Decimal(1), locale)}"
    return f"{q} ×"


def signin_lines(order, unavailable_word: str) -> str:
    """A member's lines as aligned text columns for the sign-in sheet."""
    rows = []
    for line in order.lines:
        if line.quantity <= 0:
            continue
        name = line.product.name
        if not line.product.active:
            name = f"✗ {name} ({unavailable_word})"
        name = name if len(name) <= 40 else name[:39] + "…"
        rows.append(
            f"{how_many(line):>9}  {name:<40} {money(line.unit_price_cents):>11} "
            f"{money(line.total_cents):>11}"
        )
    return "\n".join(rows)
