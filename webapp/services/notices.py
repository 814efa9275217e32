"""Telling members what changed in their orders (by e-mail where SMTP is configured).

The notifications issue adds web push and a log that sends each message once; until
then these go out directly.
"""

from __future__ import annotations

from collections import defaultdict

from flask import current_app
from flask_babel import format_date, force_locale
from flask_babel import gettext as _

from ..models import Distribution, OrderLine, User
from .mail import send_mail


def tell_cancelled(users: list[User], distribution: Distribution) -> None:
    for user in users:
        with force_locale(user.locale or "fr"):
            day = format_date(distribution.starts_at, format="full")
            send_mail(current_app.config, to=user.email,
                      subject=_("Distribution of %(day)s cancelled", day=day),
                      body=_("The distribution of %(day)s is cancelled. Your order will not be delivered.", day=day))


def tell_removed(lines: list[OrderLine], distribution: Distribution) -> None:
    by_user: dict[int, list[OrderLine]] = defaultdict(list)
    for line in lines:
        by_user[line.basket.user_id].append(line)
    for user_lines in by_user.values():
        user = user_lines[0].basket.user
        with force_locale(user.locale or "fr"):
            day = format_date(distribution.starts_at, format="full")
            names = ", ".join(line.product.name for line in user_lines)
            send_mail(current_app.config, to=user.email,
                      subject=_("A product was removed from your order"),
                      body=_("Not available for the distribution of %(day)s: %(products)s. "
                             "They were removed from your order and your total is updated.",
                             day=day, products=names))
