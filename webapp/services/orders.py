"""Members' orders: the shop of a distribution, quantities, stock that is never oversold.

Every write checks the order window against `now` on the server, whatever the page showed.
What may be ordered, and how many are left, is the distribution's own offer
(`services/offers.py`): a product switched off or sold out for one distribution leaves the
others as they were. Stock is taken under a row lock on the distribution's offer row
(SELECT ... FOR UPDATE on PostgreSQL; SQLite writers are serialised by BEGIN IMMEDIATE), so
two members ordering the last unit at once through several processes never both get it.
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cached_property

from flask_babel import gettext as _
from sqlalchemy import select, type_coerce
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.sql.sqltypes import NULLTYPE

from ..domain.cycle import Action
from ..domain.money import AmountError, basket_total_cents, parse_quantity, vat_breakdown
from ..models import (
    Basket,
    Catalogue,
    Distribution,
    DistributionOffer,
    OrderLine,
    Product,
    User,
    distribution_catalogues,
)
from . import ServiceError, audit, cycle_rules, memberships, offers
from .baskets import get_or_create_basket

MAX_QUANTITY = Decimal(999)


class OrdersClosed(ServiceError):
    def __init__(self, message: str):
        super().__init__(message, status=409)


def check_orders_open(distribution: Distribution, now: datetime) -> None:
    """Refuse with a clear message when the order window is not open at `now`."""
    try:
        cycle_rules.check(Action.ORDER, distribution, now)
    except ServiceError as error:
        raise OrdersClosed(error.message) from error


# What a shop row shows, and no more (archived as a flag, not a date; no VAT rate).
PRODUCT_COLUMNS = (
    Product.id,
    Product.name,
    Product.description,
    Product.unit,
    Product.quantity_per_unit,
    Product.weighed,
    Product.price_cents,
    Product.photo,
    Product.archived_at.is_not(None).label("archived"),
    Product.catalogue_id,
)


def _shop_rows(distribution: Distribution, raw: bool = False):
    """Products as the shop shows them: `active` and `stock` are this distribution's offer
    (available, and what is left); `listed` is the catalogue's switch (a product switched
    off in the catalogue is not listed; one switched off for this week shows unavailable).

    `raw`: each column typed NULL, so that SQLAlchemy hands over the driver's values as they
    are (`ShopReader` converts them)."""
    columns = select(
        *PRODUCT_COLUMNS,
        Product.active.label("listed"),
        offers.available_column(distribution).label("active"),
        offers.stock_column().label("stock"),
    ).selected_columns
    if raw:
        columns = [type_coerce(c, NULLTYPE).label(c.name) for c in columns]
    return select(*columns).outerjoin(DistributionOffer, offers.own_row(distribution))


_COLUMNS = _shop_rows(Distribution()).selected_columns  # their names and types
ShopProduct = namedtuple("ShopProduct", [c.name for c in _COLUMNS])
_CATALOGUE = ShopProduct._fields.index("catalogue_id")


class ShopReader:
    """Turns the shop's rows as the driver gives them into `ShopProduct`s, with the values
    SQLAlchemy would have made (decimals, booleans), through the columns' own types.

    A shop may list a thousand products, each read on every visit; SQLAlchemy's conversions
    of 13 columns were a third of reading them. The shop page compares the driver's rows with
    those it drew before and converts only a row it must draw again (`web/shop_rows.py`).
    """

    _steps: dict[tuple, list] = {}  # by dialect and the driver's column types

    def __init__(self, dialect, description) -> None:
        """`description`: the driver's cursor description of the rows (its types choose the
        conversions on PostgreSQL)."""
        codes = tuple(column[1] for column in description)
        key = (dialect.name, dialect.driver, codes)
        steps = self._steps.get(key)
        if steps is None:
            processors = [
                c.type.dialect_impl(dialect).result_processor(dialect, code)
                for c, code in zip(_COLUMNS, codes, strict=True)
            ]
            steps = self._steps[key] = [(i, p) for i, p in enumerate(processors) if p]
        self.steps = steps

    def __call__(self, raw) -> ShopProduct:
        values = list(raw)
        for i, process in self.steps:
            values[i] = process(values[i])
        return ShopProduct._make(values)


@dataclass
class ShopSection:
    """A catalogue of the shop and its products: `raw` as the driver gave them, `products`
    converted (`ShopReader`)."""

    catalogue: Catalogue
    read: ShopReader
    raw: list = field(default_factory=list)

    @cached_property
    def products(self) -> list[ShopProduct]:
        return [self.read(row) for row in self.raw]


def shop_products(session: Session, distribution: Distribution) -> list[ShopSection]:
    """The catalogues taking part (with their producers) and their products, in two queries.

    Products come as the driver's rows, not ORM objects nor SQLAlchemy rows: a shop may list
    a thousand of them and only reads them.
    """
    catalogues = session.scalars(
        select(Catalogue)
        .join(distribution_catalogues, distribution_catalogues.c.catalogue_id == Catalogue.id)
        .where(
            distribution_catalogues.c.distribution_id == distribution.id,
            Catalogue.kind != "constant",  # contracts reach baskets by subscription only
        )
        .options(joinedload(Catalogue.producer))
        .order_by(Catalogue.name)
    ).all()
    query = (
        _shop_rows(distribution, raw=True)
        .where(Product.catalogue_id.in_([c.id for c in catalogues]))
        .order_by(Product.name)
    )
    connection = session.connection()
    result = connection.execute(query)
    try:
        rows = result.cursor.fetchall()  # the driver's tuples (SQLAlchemy's Row compares slowly)
        read = ShopReader(connection.dialect, result.cursor.description)
    finally:
        result.close()
    sections = {c.id: ShopSection(c, read) for c in catalogues}
    for row in rows:
        sections[row[_CATALOGUE]].raw.append(row)
    return list(sections.values())


def shop_product(session: Session, distribution: Distribution, product_id: int) -> ShopProduct:
    """One product's row of the shop (after a change, to draw it again)."""
    return ShopProduct._make(
        session.execute(_shop_rows(distribution).where(Product.id == product_id)).one()
    )


def find_basket(session: Session, distribution: Distribution, user: User) -> Basket | None:
    """The member's basket with its lines and their products, in one query."""
    return (
        session.scalars(
            select(Basket)
            .where(Basket.distribution_id == distribution.id, Basket.user_id == user.id)
            .options(joinedload(Basket.lines).joinedload(OrderLine.product))
            .execution_options(populate_existing=True)  # lines may have changed here
        )
        .unique()
        .first()
    )


@dataclass
class BasketSummary:
    basket: Basket | None
    lines: list[OrderLine]
    total_cents: int
    vat: list
    count: int


def summarise(basket: Basket | None) -> BasketSummary:
    """Totals of a basket: the same cents wherever it is shown."""
    lines = [line for line in (basket.lines if basket else []) if line.quantity > 0]
    domain_lines = [line.as_line() for line in lines]
    return BasketSummary(
        basket, lines, basket_total_cents(domain_lines), vat_breakdown(domain_lines), len(lines)
    )


def read_quantity(product: Product, text: str) -> Decimal:
    """Parse what the member typed; whole units unless the product is weighed."""
    try:
        quantity = parse_quantity(text, decimals=3 if product.weighed else 0, maximum=MAX_QUANTITY)
    except AmountError as error:
        raise ServiceError(
            _quantity_message(str(error), product), field=f"q-{product.id}"
        ) from error
    return quantity


def _quantity_message(code: str, product: Product) -> str:
    if code == "too_many_decimals":
        if not product.weighed:
            return _("%(product)s is sold by whole units.", product=product.name)
        return _("Use at most three decimals.")
    if code == "too_large":
        return _("At most %(n)s at a time.", n=int(MAX_QUANTITY))
    if code == "negative":
        return _("A quantity cannot be negative.")
    return _("Enter a number, like 2 or 1,5.")


@dataclass
class Change:
    product: Product
    asked: Decimal
    granted: Decimal


@dataclass
class OrderResult:
    changes: list[Change] = field(default_factory=list)

    @property
    def shortfalls(self) -> list[Change]:
        return [c for c in self.changes if c.granted < c.asked]


def products_of(session: Session, distribution: Distribution, product_ids: list[int]) -> dict:
    """Products of this distribution's catalogues, by id; unknown ids are refused."""
    products = session.scalars(
        select(Product)
        .join(
            distribution_catalogues, distribution_catalogues.c.catalogue_id == Product.catalogue_id
        )
        .join(Catalogue, Catalogue.id == Product.catalogue_id)
        .where(
            distribution_catalogues.c.distribution_id == distribution.id,
            Product.id.in_(product_ids),
            Catalogue.kind != "constant",  # a contract line is not the shop's to change
        )
    ).all()
    found = {p.id: p for p in products}
    if len(found) != len(set(product_ids)):
        raise ServiceError(_("This product is not offered in this distribution."), status=404)
    return found


def set_quantities(
    session: Session,
    distribution: Distribution,
    wanted: dict[int, Decimal],
    *,
    actor: User,
    now: datetime,
    member: User | None = None,
) -> OrderResult:
    """Set a basket's quantities of several products at once (0 removes the line).

    Members change their own basket while orders are open. A coordinator (the web layer
    checks the role) passes `member` and may change any basket until validation.
    """
    if member is None:
        check_orders_open(distribution, now)
        memberships.check_may_order(session, distribution.group_id, actor, now=now)
    else:
        cycle_rules.check(Action.CHANGE_BASKET, distribution, now)
    products = products_of(session, distribution, list(wanted))
    basket = get_or_create_basket(session, distribution, member or actor, now=now)
    if member is not None:
        cycle_rules.check(Action.CHANGE_BASKET, distribution, now, basket=basket)
    existing = {
        line.product_id: line
        for line in session.scalars(select(OrderLine).where(OrderLine.basket_id == basket.id))
    }
    unavailable = offers.unavailable_ids(session, distribution, list(wanted))
    result = OrderResult()
    for product_id in sorted(wanted):  # a fixed order of row locks avoids deadlocks
        product, asked = products[product_id], wanted[product_id]
        line = existing.get(product_id)
        current = line.quantity if line else Decimal(0)
        if asked == current:
            continue
        if (
            asked > current
            and member is None
            and (product_id in unavailable or product.archived_at)
        ):
            raise ServiceError(
                _("%(product)s is no longer available.", product=product.name),
                field=f"q-{product_id}",
            )
        granted = current + offers.move_stock(session, distribution, product, asked - current)
        result.changes.append(Change(product, asked, granted))
        _write_line(session, basket, product, line, granted, now)
        if member is not None:
            audit.record(
                session,
                group_id=distribution.group_id,
                actor=actor,
                action="basket_edit",
                now=now,
                distribution_id=distribution.id,
                member_id=member.id,
                target=product.name,
                before={"quantity": current},
                after={"quantity": granted},
            )
    session.flush()
    return result


def _write_line(session, basket, product, line, quantity, now) -> None:
    if line is None:
        if quantity > 0:
            session.add(
                OrderLine(
                    basket_id=basket.id,
                    product_id=product.id,
                    quantity=quantity,
                    unit_price_cents=product.price_cents,
                    vat_rate=product.vat_rate,
                    updated_at=now,
                )
            )
        return
    if quantity == 0:
        session.delete(line)
    else:
        line.quantity = quantity
        line.updated_at = now


def my_baskets(
    session: Session, group_id: int, user: User
) -> list[tuple[Distribution, BasketSummary]]:
    """The member's baskets in a group, newest first."""
    baskets = session.scalars(
        select(Basket)
        .join(Distribution)
        .where(Basket.user_id == user.id, Distribution.group_id == group_id)
        .options(selectinload(Basket.lines).selectinload(OrderLine.product))
        .order_by(Distribution.starts_at.desc())
    ).all()
    distributions = {
        d.id: d
        for d in session.scalars(
            select(Distribution)
            .where(Distribution.id.in_([b.distribution_id for b in baskets]))
            .options(selectinload(Distribution.place))
        )
    }
    return [
        (distributions[b.distribution_id], summarise(b))
        for b in baskets
        if any(line.quantity > 0 for line in b.lines)
    ]
