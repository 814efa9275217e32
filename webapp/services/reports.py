"""What coordinators send and print after the close: orders by member, the product
summary per catalogue ("récapitulatif par produits"), the global view, sign-in sheets.

Every report loads the day in a fixed number of queries, whatever the number of members.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cached_property

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..domain.cycle import Action
from ..domain.money import Line, line_total_cents, vat_breakdown
from ..models import (
    Basket,
    Catalogue,
    Distribution,
    DistributionOffer,
    DutyAssignment,
    OrderLine,
    Product,
    User,
)
from . import audit, cycle_rules, offers
from .sheet import balances


@dataclass(frozen=True)
class ProductRow:
    id: int
    name: str
    active: bool  # available at this distribution (its own offer, services/offers.py)
    unit: str
    quantity_per_unit: Decimal
    catalogue_id: int
    weighed: bool = False


@dataclass(frozen=True)
class LineRow:
    id: int
    product: ProductRow
    quantity: Decimal
    unit_price_cents: int
    vat_rate: Decimal
    removed_at: datetime | None
    ordered_quantity: Decimal | None
    subscription_id: int | None = None  # a contract line (services/contracts.py)

    @property
    def contract(self) -> bool:
        return self.subscription_id is not None

    @property
    def product_id(self) -> int:
        return self.product.id

    def as_line(self) -> Line:
        return Line(self.quantity, self.unit_price_cents, self.vat_rate)

    @cached_property
    def total_cents(self) -> int:
        # once per line: a 1,000-member day reads each line's total three times
        return line_total_cents(self.quantity, self.unit_price_cents)


@dataclass(frozen=True)
class Person:
    id: int
    first_name: str
    last_name: str
    phone: str

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def sort_name(self) -> str:
        return f"{self.last_name} {self.first_name}".strip()


@dataclass(frozen=True)
class BasketRow:
    id: int
    number: int


@dataclass
class MemberOrder:
    basket: BasketRow
    user: Person
    lines: list[LineRow]
    balance_cents: int = 0

    @cached_property
    def total_cents(self) -> int:
        # the sum of the rounded lines (domain.money.basket_total_cents), each line once
        return sum(line.total_cents for line in self.lines if line.quantity > 0)

    @property
    def unavailable(self) -> int:
        return sum(1 for line in self.lines if not line.product.active and line.quantity > 0)

    @property
    def ordered_count(self) -> int:
        """Products with a quantity (the global view shows this count per member)."""
        return sum(1 for line in self.lines if line.quantity > 0)

    @property
    def flagged_lines(self) -> list[LineRow]:
        """Lines the coordinator must see: unavailable here, or removed from the order."""
        return [
            line
            for line in self.lines
            if line.removed_at is not None or (not line.product.active and line.quantity > 0)
        ]


def _plain_rows(session: Session, query):
    """Rows of a column query without the ORM's row loading (10,000 lines of a day cost
    more in ORM loading than in the database); pending changes are flushed first."""
    session.flush()
    return session.connection().execute(query)


def day_orders(
    session: Session,
    distribution: Distribution,
    *,
    catalogue_id: int | None = None,
    with_balances: bool = False,
    keep_empty: bool = False,
) -> list[MemberOrder]:
    """Baskets of the day sorted by number, with their lines (of one catalogue if given).

    Read as plain rows in one query: a day of 1,000 members has 10,000 lines, and ORM
    objects for each would cost more than the whole report. A product is `active` when it
    is available at this distribution (its own offer): the red lines of the closing step.
    """
    query = (
        select(
            Basket.id,
            Basket.number,
            User.id,
            User.first_name,
            User.last_name,
            User.phone,
            OrderLine.id,
            OrderLine.quantity,
            OrderLine.unit_price_cents,
            OrderLine.vat_rate,
            OrderLine.removed_at,
            OrderLine.ordered_quantity,
            OrderLine.subscription_id,
            Product.id,
            Product.name,
            offers.available_column(distribution),
            Product.unit,
            Product.quantity_per_unit,
            Product.catalogue_id,
            Product.weighed,
        )
        .join(User, User.id == Basket.user_id)
        .join(OrderLine, OrderLine.basket_id == Basket.id)
        .join(Product, Product.id == OrderLine.product_id)
        .outerjoin(DistributionOffer, offers.own_row(distribution))
        .where(
            Basket.distribution_id == distribution.id,
            (OrderLine.quantity > 0)
            | OrderLine.removed_at.is_not(None)
            | OrderLine.ordered_quantity.is_not(None),  # weighed on the day, maybe at 0
        )
        .order_by(Basket.number, OrderLine.id)
    )
    if catalogue_id is not None:
        query = query.where(Product.catalogue_id == catalogue_id)
    orders: dict[int, MemberOrder] = {}
    products: dict[int, ProductRow] = {}
    for (
        basket_id,
        number,
        user_id,
        first,
        last,
        phone,
        line_id,
        quantity,
        price,
        vat,
        removed,
        ordered,
        subscription_id,
        product_id,
        name,
        active,
        unit,
        per_unit,
        cat_id,
        weighed,
    ) in _plain_rows(session, query):
        product = products.get(product_id)
        if product is None:
            product = products[product_id] = ProductRow(
                product_id, name, bool(active), unit, per_unit, cat_id, bool(weighed)
            )
        order = orders.get(basket_id)
        if order is None:
            order = orders[basket_id] = MemberOrder(
                BasketRow(basket_id, number), Person(user_id, first, last, phone), []
            )
        order.lines.append(
            LineRow(line_id, product, quantity, price, vat, removed, ordered, subscription_id)
        )
    result = [
        o for o in orders.values() if keep_empty or any(line.quantity > 0 for line in o.lines)
    ]
    if with_balances and result:
        known = balances(session, distribution.group_id, [o.user.id for o in result])
        for order in result:
            order.balance_cents = known.get(order.user.id, 0)
    return result


@dataclass
class SummaryRow:
    product: ProductRow
    unit_price_cents: int
    quantity: Decimal = Decimal(0)
    total_cents: int = 0
    members: int = 0
    # Of `quantity`, what AMAP contracts bring (the rest is the shop's): apart and together.
    contract_quantity: Decimal = Decimal(0)

    @property
    def shop_quantity(self) -> Decimal:
        return self.quantity - self.contract_quantity


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


def product_summary(
    orders: list[MemberOrder], catalogues: list[Catalogue]
) -> list[CatalogueSummary]:
    """Quantities to bring per product and price, per catalogue, from the day's orders."""
    by_key: dict[tuple[int, int], SummaryRow] = {}
    lines_by_catalogue: dict[int, list[Line]] = defaultdict(list)
    for order in orders:
        for line in order.lines:
            if line.quantity <= 0:
                continue
            key = (line.product.id, line.unit_price_cents)
            row = by_key.get(key)
            if row is None:
                row = by_key[key] = SummaryRow(line.product, line.unit_price_cents)
            row.quantity += line.quantity
            row.total_cents += line.total_cents
            row.members += 1
            if line.contract:
                row.contract_quantity += line.quantity
            # a LineRow is a Line for vat_breakdown (vat_rate, total_cents computed once)
            lines_by_catalogue[line.product.catalogue_id].append(line)
    summaries = []
    for catalogue in catalogues:
        rows = sorted(
            (r for r in by_key.values() if r.product.catalogue_id == catalogue.id),
            key=lambda r: (r.product.name.lower(), r.unit_price_cents),
        )
        summaries.append(
            CatalogueSummary(catalogue, rows, vat_breakdown(lines_by_catalogue[catalogue.id]))
        )
    return summaries


def on_duty(session: Session, distribution: Distribution) -> list[DutyAssignment]:
    return list(
        session.scalars(
            select(DutyAssignment)
            .where(DutyAssignment.distribution_id == distribution.id)
            .options(selectinload(DutyAssignment.user))
            .order_by(DutyAssignment.role_name)
        )
    )


def remove_unavailable(
    session: Session, distribution: Distribution, *, actor: User, now: datetime
) -> list[OrderLine]:
    """Set the lines of products unavailable at THIS distribution (its own offer) to zero,
    keeping what was ordered and who did it; other distributions are left as they were.

    Baskets already validated keep their lines: the ledger charged them as they were."""
    cycle_rules.check(Action.REMOVE_UNAVAILABLE, distribution, now)
    lines = session.scalars(
        select(OrderLine)
        .join(Basket)
        .join(Product, Product.id == OrderLine.product_id)
        .outerjoin(DistributionOffer, offers.own_row(distribution))
        .where(
            Basket.distribution_id == distribution.id,
            offers.unavailable_condition(distribution),
            OrderLine.quantity > 0,
            Basket.validated_at.is_(None),
        )
        .options(
            selectinload(OrderLine.basket).selectinload(Basket.user),
            selectinload(OrderLine.product),
        )
    ).all()
    for line in lines:
        audit.record(
            session,
            group_id=distribution.group_id,
            actor=actor,
            action="remove_unavailable",
            now=now,
            distribution_id=distribution.id,
            member_id=line.basket.user_id,
            target=line.product.name,
            before={"quantity": line.quantity},
            after={"quantity": Decimal(0)},
        )
        line.ordered_quantity = line.quantity
        line.quantity = Decimal(0)
        line.removed_at = now
        line.removed_by_id = actor.id
    session.flush()
    # A producer whose purchase order already left gets a corrected one, in this transaction.
    from .notify import queue_corrected_purchase_orders

    queue_corrected_purchase_orders(session, distribution, list(lines), now=now)
    return list(lines)
