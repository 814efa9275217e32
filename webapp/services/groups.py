"""A group's own settings."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from ..models import PAYMENT_METHODS, Group
from . import ServiceError


def _days(text: str, field: str, low: int, high: int) -> int:
    if not text.strip().isdigit() or not low <= int(text) <= high:
        raise ServiceError(
            _("Enter a number of days between %(low)d and %(high)d.", low=low, high=high),
            field=field,
        )
    return int(text)


def update_settings(
    session: Session,
    group: Group,
    *,
    name: str,
    payment_methods: list[str],
    vat_rates: str,
    sheet_instructions: str,
    duty_signup_days: str,
    duty_reminder_days: str,
) -> Group:
    """Check every field, then save them all (nothing is half-saved)."""
    if not name.strip():
        raise ServiceError(_("A name is required."), field="name")
    methods = [m for m in PAYMENT_METHODS if m in payment_methods]
    if not methods:
        raise ServiceError(_("Choose at least one payment method."), field="payment_methods")
    try:
        rates = sorted(
            {Decimal(r.strip().replace(",", ".")) for r in vat_rates.split(";") if r.strip()}
        )
    except InvalidOperation as error:
        raise ServiceError(_("VAT rates like 5,5 ; 20"), field="vat_rates") from error
    if not rates or any(not 0 <= r < 100 for r in rates):
        raise ServiceError(_("VAT rates like 5,5 ; 20"), field="vat_rates")
    signup = _days(duty_signup_days, "duty_signup_days", 1, 365)
    reminder = _days(duty_reminder_days, "duty_reminder_days", 0, 30)
    group.name, group.payment_methods = name.strip(), methods
    group.vat_rates = [format(r.normalize(), "f") for r in rates]
    group.sheet_instructions = sheet_instructions.strip()[:2000]
    group.duty_signup_days, group.duty_reminder_days = signup, reminder
    session.flush()
    return group
