"""The order cycle's action table (`webapp.domain.cycle.ACTIONS`) as the sentences
people read: every service asks `check()` before it changes a distribution day."""

from __future__ import annotations

from datetime import datetime

from flask_babel import format_datetime
from flask_babel import gettext as _

from ..domain.cycle import Action, Status, refusal
from . import ServiceError


def _when(moment: datetime) -> str:
    return format_datetime(moment, "EEEE d MMMM, HH:mm")


def reason_text(reason: str, distribution) -> str:
    """The sentence for a refusal code of the action table."""
    messages = {
        "orders_not_open_yet": lambda: _(
            "Orders open on %(when)s.", when=_when(distribution.orders_open_at)
        ),
        "orders_closed": lambda: _(
            "Orders closed on %(when)s.", when=_when(distribution.orders_close_at)
        ),
        "orders_not_closed": lambda: _("This can be done once orders are closed."),
        "cancelled": lambda: _("This distribution is cancelled."),
        "already_cancelled": lambda: _("This distribution is already cancelled."),
        "validated_undo_first": lambda: _(
            "This distribution is validated: undo its validation first."
        ),
        "basket_validated_undo_first": lambda: _(
            "This basket is validated: undo its validation first."
        ),
        "sheet_not_ready": lambda: _("The sheet opens when orders close."),
        "not_started": lambda: _("A distribution can be validated once it has started."),
        "already_validated": lambda: _("This distribution is already validated."),
        "basket_already_validated": lambda: _("This basket is already validated."),
        "not_validated": lambda: _("This distribution is not validated."),
        "already_took_place": lambda: _("This distribution already took place."),
    }
    return messages[reason]()


def check(
    action: Action, distribution, now: datetime, *, basket=None, status: Status | None = None
) -> Status:
    """Refuse (ServiceError, 409) what the action table refuses; return the state."""
    state = status or distribution.status(now)
    validated = basket is not None and basket.validated_at is not None
    reason = refusal(action, state, basket_validated=validated)
    if reason is not None:
        raise ServiceError(reason_text(reason, distribution), status=409)
    return state


def allowed(action: Action, distribution, now: datetime, *, basket=None) -> bool:
    """Whether the page should offer the action (the service checks again)."""
    validated = basket is not None and basket.validated_at is not None
    return refusal(action, distribution.status(now), basket_validated=validated) is None
