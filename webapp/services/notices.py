"""Telling members what changed in their orders: messages queued in the outbox with the
change itself, delivered after the commit (web push where they have it, else e-mail),
once per person and event."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from flask import url_for
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from ..models import Distribution, Group, OrderLine, User
from . import dates, outbox
from .notify import Message


def _send(session: Session, messages: list[Message], *, group_id: int, now: datetime) -> None:
    for m in messages:
        outbox.queue(
            session,
            kind=m.kind,
            ref=m.ref,
            title=m.title,
            body=m.body,
            url=m.url,
            user=m.user,
            group_id=group_id,
            now=now,
        )


def tell_cancelled(
    session: Session,
    users: list[User],
    distribution: Distribution,
    *,
    now: datetime,
) -> None:
    """Tell the members who had ordered that the distribution is cancelled."""
    messages = []
    group = session.get(Group, distribution.group_id)
    for user in users:
        with force_locale(user.locale or "fr"):
            day = dates.day(distribution.starts_at, group.timezone)
            messages.append(
                Message(
                    user,
                    "distribution_cancelled",
                    f"d{distribution.id}",
                    _(
                        "%(group)s: the distribution of %(day)s is cancelled",
                        group=group.name,
                        day=day,
                    ),
                    _(
                        "The distribution of %(day)s is cancelled. "
                        "Your order will not be delivered.",
                        day=day,
                    ),
                    url_for("main.home"),
                )
            )
    _send(session, messages, group_id=distribution.group_id, now=now)


def tell_removed(
    session: Session,
    lines: list[OrderLine],
    distribution: Distribution,
    *,
    now: datetime,
) -> None:
    """Tell each member which products left their order."""
    by_user: dict[int, list[OrderLine]] = defaultdict(list)
    for line in lines:
        by_user[line.basket.user_id].append(line)
    messages = []
    group = session.get(Group, distribution.group_id)
    for user_lines in by_user.values():
        user = user_lines[0].basket.user
        with force_locale(user.locale or "fr"):
            day = dates.day(distribution.starts_at, group.timezone)
            names = ", ".join(line.product.name for line in user_lines)
            messages.append(
                Message(
                    user,
                    "product_removed",
                    "lines:" + ",".join(str(ln.id) for ln in user_lines)[:70],
                    ngettext(
                        "%(group)s, %(day)s: a product was removed from your order",
                        "%(group)s, %(day)s: %(num)d products were removed from your order",
                        len(user_lines),
                        group=group.name,
                        day=day,
                    ),
                    _(
                        "Not available for the distribution of %(day)s: %(products)s. "
                        "They were removed from your order and your total is updated.",
                        day=day,
                        products=names,
                    ),
                    url_for("shop.shop", distribution_id=distribution.id),
                )
            )
    _send(session, messages, group_id=distribution.group_id, now=now)
