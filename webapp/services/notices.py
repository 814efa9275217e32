"""Telling members what changed in their orders.

A product taken out of an order goes through the notification sender (web push, else
e-mail; once per line, logged). A cancelled distribution is told by e-mail at once.
"""

from __future__ import annotations

from collections import defaultdict

from flask import current_app
from flask_babel import force_locale, format_date
from flask_babel import gettext as _

from ..models import Distribution, OrderLine, User
from .mail import send_mail


def tell_cancelled(users: list[User], distribution: Distribution) -> None:
    for user in users:
        with force_locale(user.locale or "fr"):
            day = format_date(distribution.starts_at, format="full")
            send_mail(
                current_app.config,
                to=user.email,
                subject=_("Distribution of %(day)s cancelled", day=day),
                body=_(
                    "The distribution of %(day)s is cancelled. Your order will not be delivered.",
                    day=day,
                ),
            )


def tell_removed(session, lines: list[OrderLine], distribution: Distribution, *, now) -> None:
    """Tell each member which products left their order, once per line (notifications log)."""
    from flask import url_for

    from ..notifier import deliver
    from .notify import Message, send_due

    by_user: dict[int, list[OrderLine]] = defaultdict(list)
    for line in lines:
        by_user[line.basket.user_id].append(line)
    messages = []
    for user_lines in by_user.values():
        user = user_lines[0].basket.user
        with force_locale(user.locale or "fr"):
            day = format_date(distribution.starts_at, format="full")
            names = ", ".join(line.product.name for line in user_lines)
            messages.append(
                Message(
                    user,
                    "product_removed",
                    "lines:" + ",".join(str(ln.id) for ln in user_lines)[:70],
                    _("A product was removed from your order"),
                    _(
                        "Not available for the distribution of %(day)s: %(products)s. "
                        "They were removed from your order and your total is updated.",
                        day=day,
                        products=names,
                    ),
                    url_for("shop.shop", distribution_id=distribution.id),
                )
            )
    send_due(session, now=now, deliver=deliver, checkpoint=lambda: None, messages=messages)
