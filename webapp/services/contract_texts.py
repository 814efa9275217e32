"""The reason codes of `webapp.domain.contracts` as the sentences people read."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from babel.numbers import format_currency
from flask_babel import format_datetime, get_locale, ngettext
from flask_babel import gettext as _


def _when(moment: datetime) -> str:
    return format_datetime(moment, "EEEE d MMMM, HH:mm")


def _money(cents: int) -> str:
    return format_currency(Decimal(cents) / 100, "EUR", locale=str(get_locale()))


def reason_text(reason: str, *, contract=None, deadline=None, allowed=0, total=0, amounts=()):
    """The sentence for a refusal code of the contract tables."""
    messages = {
        "signup_not_open": lambda: _(
            "Sign-ups open on %(when)s.", when=_when(contract.signup_opens_at)
        ),
        "signup_closed": lambda: _(
            "Sign-ups closed on %(when)s.", when=_when(contract.signup_closes_at)
        ),
        "contract_archived": lambda: _("This contract is archived: it takes no more sign-ups."),
        "already_validated": lambda: _("This subscription is already validated."),
        "subscription_cancelled": lambda: _("This subscription is cancelled."),
        "validated_keeps_terms": lambda: _(
            "A validated subscription runs to the end of its season: declare absences instead."
        ),
        "not_a_date_of_theirs": lambda: _("You take no basket of this contract on that day."),
        "already_absent": lambda: _("This absence is already declared."),
        "absence_too_late": lambda: _(
            "Absences for that day were to be declared by %(when)s.", when=_when(deadline)
        ),
        "too_many_absences": lambda: ngettext(
            "This contract allows %(num)d absence.",
            "This contract allows %(num)d absences.",
            allowed,
        ),
        "schedule_empty": lambda: _("A schedule needs at least one payment."),
        "schedule_not_positive": lambda: _("Each payment is more than zero."),
        "schedule_not_total": lambda: _(
            "The payments add up to %(sum)s, the total is %(total)s.",
            sum=_money(sum(amounts)),
            total=_money(total),
        ),
    }
    return messages[reason]()
