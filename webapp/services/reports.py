"""What coordinators send and print after the close: orders by member, the product
summary per catalogue ("récapitulatif par produits"), the global view, sign-in sheets.

Every report loads the day in a fixed number of queries, whatever the number of members.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..domain.money import Line, basket_total_cents, vat_breakdown
from ..models import Basket, Catalogue, Distribution, DutyAssignment, OrderLine, Product, User
from . import ServiceError
from .sheet import balances


@dataclass
class MemberOrder:
    basket: Basket
    user: User
    lines: list[OrderLine]
    balance_cents: int = 0

    @property
    def total_cents(self) -> int:
        return basket_total_cents(line.as_line() for line in self.lines if line.quantity > 0)

    @property
    def unavailable(self) -> int:
        return sum(1 for line in self.lines if not line.product.active and line.quantity > 0)


def day_orders(session: Session, distribution: Distribution, *, catalogue_id: int | None = None,
               with_balances: bool = False) -> list[MemberOrder]:
    """Baskets of the day sorted by number, with their lines (of one catalogue if given)."""
    baskets = session.scalars(
        select(Basket).where(Basket.distribution_id == distribution.id)
        .options(selectinload(Basket.user),
                 selectinload(Basket.lines).selectinload(OrderLine.product).selectinload(Product.catalogue))
        .order_by(Basket.number)
    ).all()
    orders = []
    for basket in baskets:
        lines = [ln for ln in basket.lines
                 if (ln.quantity > 0 or ln.removed_at) and
                 (catalogue_id is None or ln.product.catalogue_id == catalogue_id)]
        if any(ln.quantity > 0 for ln in lines):
            orders.append(MemberOrder(basket, basket.user, lines))
    if with_balances and orders:
        known = balances(session, distribution.group_id, [o.user.id for o in orders])
        for order in orders:
            order.balance_cents = known.get(order.user.id, 0)
    return orders


@dataclass
class SummaryRow:
    product: Product
    unit_price_cents: int
    quantity: Decimal = Decimal(0)
    total_cents: int = 0
    members: int = 0


@dataclass
class CatalogueSummary:
    catalogue: Catalogue
    rows: list[SummaryRow] = field(default_factory=list)
    vat: list = field(default_factory=list)

    @property
    def total_cents(self) -> int:
        return sum(r.total_cents for r in self.rows)

    @property
    def unavailable(self) -> int:
        return sum(1 for r in self.rows if not r.product.active)


def product_summary(orders: list[MemberOrder], catalogues: list[Catalogue]) -> list[CatalogueSummary]:
    """Quantities to bring per product and price, per catalogue, from the day's orders."""
    by_key: dict[tuple[int, int], SummaryRow] = {}
    lines_by_catalogue: dict[int, list[Line]] = defaultdict(list)
    for order in orders:
        for line in order.lines:
            if line.quantity <= 0:
                continue
            row = by_key.setdefault((line.product_id, line.unit_price_cents),
                                    SummaryRow(line.product, line.unit_price_cents))
            row.quantity += line.quantity
            row.total_cents += line.total_cents
            row.members += 1
            lines_by_catalogue[line.product.catalogue_id].append(line.as_line())
    summaries = []
    for catalogue in catalogues:
        rows = sorted((r for r in by_key.values() if r.product.catalogue_id == catalogue.id),
                      key=lambda r: (r.product.name.lower(), r.unit_price_cents))
        summaries.append(CatalogueSummary(catalogue, rows, vat_breakdown(lines_by_catalogue[catalogue.id])))
    return summaries


def on_duty(session: Session, distribution: Distribution) -> list[DutyAssignment]:
    return list(session.scalars(
        select(DutyAssignment).where(DutyAssignment.distribution_id == distribution.id)
        .options(selectinload(DutyAssignment.user)).order_by(DutyAssignment.role_name)
    ))


def remove_unavailable(session: Session, distribution: Distribution, *, actor: User,
                       now: datetime) -> list[OrderLine]:
    """Set the lines of inactive products to zero, keeping what was ordered and who did it."""
    if distribution.validated_at is not None:
        raise ServiceError(_("A validated distribution cannot change."), status=409)
    lines = session.scalars(
        select(OrderLine).join(Basket).join(Product, Product.id == OrderLine.product_id)
        .where(Basket.distribution_id == distribution.id, Product.active.is_(False),
               OrderLine.quantity > 0)
        .options(selectinload(OrderLine.basket).selectinload(Basket.user),
                 selectinload(OrderLine.product))
    ).all()
    for line in lines:
        line.ordered_quantity = line.quantity
        line.quantity = Decimal(0)
        line.removed_at = now
        line.removed_by_id = actor.id
    session.flush()
    return list(lines)
