"""Files attached to an outbox e-mail, built when the e-mail is sent, from the message's
kind and ref (the queue keeps text only; a resent e-mail is rebuilt the same way).

`BUILDERS` maps a message kind to `builder(session, ref) -> [Attachment]`; the sender
calls `build` for e-mails and attaches what it returns. Kinds without a builder get none.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app, has_request_context, render_template
from flask_babel import force_locale
from sqlalchemy.orm import Session

from .. import clock
from ..models import Catalogue, Distribution, Group, Producer, User
from . import producers, reports


@dataclass(frozen=True)
class Attachment:
    filename: str
    mimetype: str  # "application/pdf"
    data: bytes


Builder = Callable[[Session, str], list[Attachment]]
BUILDERS: dict[str, Builder] = {}


def builder(kind: str) -> Callable[[Builder], Builder]:
    """Register the attachments of one message kind."""

    def register(make: Builder) -> Builder:
        BUILDERS[kind] = make
        return make

    return register


def build(session: Session, kind: str, ref: str) -> list[Attachment]:
    """The files to attach to a message of this kind (none for most kinds)."""
    make = BUILDERS.get(kind)
    return make(session, ref) if make else []


def _rendering():
    """Templates need a request context (URLs of static files): the sender has none."""
    if has_request_context():
        return contextlib.nullcontext()
    base = current_app.config.get("PUBLIC_URL") or "http://localhost"
    return current_app.test_request_context(base_url=base)


# ---- the purchase order: to the producer, when a distribution's orders close -------------

PURCHASE_ORDER = "purchase_order"


def purchase_order_ref(
    distribution: Distribution, producer: Producer, revision: int | None = None
) -> str:
    """`d<distribution>-p<producer>`; a corrected purchase order (sent again after products
    were taken out of the orders) adds its revision: `d<distribution>-p<producer>-r<n>`."""
    ref = f"d{distribution.id}-p{producer.id}"
    return f"{ref}-r{revision}" if revision else ref


def parse_purchase_order_ref(ref: str) -> tuple[int, int, int | None] | None:
    """(distribution id, producer id, revision or None) of a purchase order's ref; None
    when it is not one."""
    parts = ref.split("-")
    if len(parts) not in (2, 3) or parts[0][:1] != "d" or parts[1][:1] != "p":
        return None
    if len(parts) == 3 and parts[2][:1] != "r":
        return None
    numbers = [p[1:] for p in parts]
    if not all(n.isdigit() for n in numbers):
        return None
    revision = int(numbers[2]) if len(parts) == 3 else None
    return int(numbers[0]), int(numbers[1]), revision


def purchase_order_pdf(
    session: Session,
    distribution: Distribution,
    catalogues: list[Catalogue],
    *,
    orders: list[reports.MemberOrder] | None = None,
    summaries: list[reports.CatalogueSummary] | None = None,
) -> bytes:
    """The purchase order of some catalogues at one distribution, as a PDF."""
    from .pdf import render_pdf

    if orders is None:
        ids = {c.id for c in catalogues}
        orders = producers.orders_of_catalogues(session, distribution, ids)
        summaries = reports.product_summary(orders, catalogues)
    with _rendering():
        html = render_template(
            "reports/producer_purchase_order.html",
            distribution=distribution,
            group=session.get(Group, distribution.group_id),
            summaries=summaries,
            orders=orders,
            printed_at=clock.now(),
        )
        base_url = current_app.config.get("PUBLIC_URL") or "http://localhost/"
        return render_pdf(html, base_url=base_url, static_root=current_app.static_folder)


@builder(PURCHASE_ORDER)
def _purchase_order(session: Session, ref: str) -> list[Attachment]:
    from ..web.csvs import cents, csv_response, qty, unit

    parsed = parse_purchase_order_ref(ref)
    if parsed is None:
        return []
    distribution_id, producer_id, revision = parsed
    distribution = session.get(Distribution, distribution_id)
    producer = session.get(Producer, producer_id)
    if distribution is None or producer is None:
        return []
    user = session.get(User, producer.user_id) if producer.user_id else None
    # The language of the e-mail (notify._purchase_orders): the producer's own, or the
    # group's for a producer without an account, e-mailed at the address the group keeps.
    if user is not None:
        locale = user.locale
    else:
        group = session.get(Group, distribution.group_id)
        locale = group.locale if group is not None else None
    orders, summaries = producers.purchase_order(session, distribution, producer)
    catalogues = [s.catalogue for s in summaries]
    name = f"bon-de-commande-{distribution.starts_at:%Y-%m-%d}-{producer.id}"
    if revision:
        name += f"-r{revision}"  # a corrected one does not overwrite the first on disk
    with _rendering(), force_locale(locale or "fr"):
        pdf = purchase_order_pdf(
            session, distribution, catalogues, orders=orders, summaries=summaries
        )
        rows = producers.summary_rows(summaries, cents, qty, unit)
        csv_bytes = csv_response(rows, f"{name}.csv").get_data()
    return [
        Attachment(f"{name}.pdf", "application/pdf", pdf),
        Attachment(f"{name}.csv", "text/csv", csv_bytes),
    ]
