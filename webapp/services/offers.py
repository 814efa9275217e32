"""Each distribution's own offer: which products members may order and how many are left,
per distribution ("20 crottins this week, 20 next week").

The rule
- A product's `active` switch and `stock` in the catalogue are the defaults every
  distribution's offer starts from. `stock` is the quantity offered at EACH distribution
  (empty: unlimited); orders no longer count it down.
- A row of `distribution_offers` is one distribution's own. It is written when a
  coordinator changes that distribution's offer (switches a product off for that week,
  sets what is left), and when an order first takes stock of a product that has one: the
  row starts from the product's stock and that distribution's orders count down from
  there. Once a distribution has its row, its stock is its own: changing the product's
  stock in the catalogue sets the default of the distributions that have no row yet.
- Available = switched on in the catalogue AND switched on for the distribution (no row:
  on). Switching a product off in the catalogue therefore takes it off every distribution
  not yet validated or cancelled: the coming ones and the one being closed (its order
  lines turn red). A validated or cancelled distribution keeps the offer it had: only its
  own switch counts there, so the catalogue cannot rewrite history. To take a product off
  one distribution only, switch it off on that distribution's offer page; the catalogue's
  switch off cannot be overridden for one week.
- Archived products cannot be added to a basket (the shop checks), but are not
  "unavailable" in the closing step: archiving hides a product from new cycles, it does
  not say this week's delivery is missing.
- Stock is taken under a row lock on the offer row (insert-if-missing, then SELECT ...
  FOR UPDATE on PostgreSQL; SQLite writers are serialised by BEGIN IMMEDIATE), so two
  members ordering the last unit of one distribution at once never both get it, and one
  distribution's orders never touch another's stock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

from flask_babel import gettext as _
from sqlalchemy import and_, case, false, func, or_, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from ..domain.cycle import Action
from ..domain.money import AmountError, parse_quantity
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
from . import ServiceError, audit, cycle_rules

MAX_STOCK = Decimal("9999999")


def own_row(distribution: Distribution):
    """The join condition of a product (`Product`) and its row for this distribution."""
    return and_(
        DistributionOffer.product_id == Product.id,
        DistributionOffer.distribution_id == distribution.id,
    )


def catalogue_applies(distribution: Distribution) -> bool:
    """Whether the catalogue's switch still counts: not once the day is validated or
    cancelled (it keeps the offer it had)."""
    return distribution.validated_at is None and distribution.cancelled_at is None


def unavailable_condition(distribution: Distribution):
    """SQL: the product is not available at this distribution (outer-join `own_row`)."""
    own_off = DistributionOffer.active.is_(False)  # no row: NULL, not off
    if not catalogue_applies(distribution):
        return own_off
    return or_(Product.active.is_(False), own_off)


def available_column(distribution: Distribution):
    """SQL: whether the product is available at this distribution, as a boolean column."""
    return case((unavailable_condition(distribution), false()), else_=true())


def stock_column():
    """SQL: what is left for this distribution (outer-join `own_row`); NULL is unlimited."""
    return case(
        (DistributionOffer.product_id.is_(None), Product.stock), else_=DistributionOffer.stock
    )


def unavailable_ids(
    session: Session, distribution: Distribution, product_ids: list[int] | None = None
) -> set[int]:
    """Ids of the products not available at this distribution (of its catalogues, or of
    `product_ids`), in one query."""
    query = select(Product.id).outerjoin(DistributionOffer, own_row(distribution))
    if product_ids is None:
        query = query.join(
            distribution_catalogues, distribution_catalogues.c.catalogue_id == Product.catalogue_id
        ).where(distribution_catalogues.c.distribution_id == distribution.id)
    else:
        query = query.where(Product.id.in_(product_ids))
    return set(session.scalars(query.where(unavailable_condition(distribution))))


@dataclass(frozen=True)
class OfferRow:
    """One product's offer at one distribution, as the offer page shows it."""

    id: int
    name: str
    unit: str
    weighed: bool
    catalogue_active: bool
    own_active: bool
    available: bool
    stock: Decimal | None
    default_stock: Decimal | None
    own: bool  # the distribution has its own row
    ordered: Decimal


@dataclass
class OfferSection:
    catalogue: Catalogue
    rows: list[OfferRow]


def offer_of(session: Session, distribution: Distribution) -> list[OfferSection]:
    """The offer of every live product of the distribution's catalogues, with the quantity
    already ordered; a fixed number of queries."""
    catalogues = session.scalars(
        select(Catalogue)
        .join(distribution_catalogues, distribution_catalogues.c.catalogue_id == Catalogue.id)
        .where(distribution_catalogues.c.distribution_id == distribution.id)
        .options(selectinload(Catalogue.producer))
        .order_by(Catalogue.name)
    ).all()
    ordered = (
        select(OrderLine.product_id, func.sum(OrderLine.quantity).label("ordered"))
        .join(Basket, Basket.id == OrderLine.basket_id)
        .where(Basket.distribution_id == distribution.id)
        .group_by(OrderLine.product_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Product.id,
            Product.name,
            Product.unit,
            Product.weighed,
            Product.active,
            Product.stock,
            Product.catalogue_id,
            DistributionOffer.product_id.label("own_id"),
            DistributionOffer.active.label("own_active"),
            stock_column().label("left"),
            available_column(distribution).label("available"),
            ordered.c.ordered,
        )
        .outerjoin(DistributionOffer, own_row(distribution))
        .outerjoin(ordered, ordered.c.product_id == Product.id)
        .where(
            Product.catalogue_id.in_([c.id for c in catalogues]),
            Product.archived_at.is_(None),
        )
        .order_by(Product.name)
    )
    sections = {c.id: OfferSection(c, []) for c in catalogues}
    for r in rows:
        sections[r.catalogue_id].rows.append(
            OfferRow(
                id=r.id,
                name=r.name,
                unit=r.unit,
                weighed=bool(r.weighed),
                catalogue_active=bool(r.active),
                own_active=r.own_active is None or bool(r.own_active),
                available=bool(r.available),
                stock=r.left,
                default_stock=r.stock,
                own=r.own_id is not None,
                ordered=r.ordered or Decimal(0),
            )
        )
    return list(sections.values())


_UNCHANGED = object()


@dataclass
class OfferChange:
    """What a coordinator asks for one product; `stock` is left out when not changed
    (None there means unlimited)."""

    active: bool | None = None
    stock: Decimal | None | object = _UNCHANGED

    @property
    def changes_stock(self) -> bool:
        return self.stock is not _UNCHANGED


def set_offer(
    session: Session,
    distribution: Distribution,
    changes: dict[int, OfferChange],
    *,
    actor: User,
    now: datetime,
    catalogue_ids: set[int] | None = None,
) -> int:
    """Switch products on or off and set what is left, for this distribution only; return
    how many products changed. `catalogue_ids` limits a catalogue manager to theirs."""
    cycle_rules.check(Action.EDIT_OFFER, distribution, now)
    products = _products(session, distribution, list(changes), catalogue_ids)
    changed = 0
    for product_id in sorted(changes):  # a fixed order of row locks avoids deadlocks
        product, change = products[product_id], changes[product_id]
        if change.changes_stock:
            _check_stock(product, change.stock)
        row = _locked_row(session, distribution, product)
        before = {"active": row.active, "stock": row.stock}
        if change.active is not None:
            row.active = change.active
        if change.changes_stock:
            row.stock = change.stock
        after = {"active": row.active, "stock": row.stock}
        if after != before:
            changed += 1
            audit.record(
                session,
                group_id=distribution.group_id,
                actor=actor,
                action="edit_offer",
                now=now,
                distribution_id=distribution.id,
                target=product.name,
                before=before,
                after=after,
            )
    session.flush()
    return changed


def _products(
    session: Session, distribution: Distribution, ids: list[int], catalogue_ids: set[int] | None
) -> dict[int, Product]:
    query = (
        select(Product)
        .join(
            distribution_catalogues, distribution_catalogues.c.catalogue_id == Product.catalogue_id
        )
        .where(distribution_catalogues.c.distribution_id == distribution.id, Product.id.in_(ids))
    )
    if catalogue_ids is not None:
        query = query.where(Product.catalogue_id.in_(catalogue_ids))
    found = {p.id: p for p in session.scalars(query)}
    if len(found) != len(set(ids)):
        raise ServiceError(_("This product is not offered in this distribution."), status=404)
    return found


def read_stock(row: OfferRow, text: str) -> Decimal | None:
    """Parse a stock typed on the offer page; empty is unlimited."""
    if not text.strip():
        return None
    try:
        return parse_quantity(text, decimals=3 if row.weighed else 0, maximum=MAX_STOCK)
    except AmountError as error:
        messages = {
            "negative": _("A stock cannot be negative."),
            "too_large": _("This stock is too large."),
            "too_many_decimals": _("%(product)s is sold by whole units.", product=row.name)
            if not row.weighed
            else _("Use at most three decimals."),
        }
        message = messages.get(str(error), _("Enter a number, like 2 or 1,5."))
        raise ServiceError(message, field=f"stock-{row.id}") from error


def _check_stock(product: Product, stock) -> None:
    if stock is None:
        return
    if stock < 0:
        raise ServiceError(_("A stock cannot be negative."), field=f"stock-{product.id}")
    if stock > MAX_STOCK:
        raise ServiceError(_("This stock is too large."), field=f"stock-{product.id}")
    if not product.weighed and stock != stock.to_integral_value():
        raise ServiceError(
            _("%(product)s is sold by whole units.", product=product.name),
            field=f"stock-{product.id}",
        )


def _insert_if_missing(session: Session, distribution: Distribution, product: Product) -> None:
    """Give the distribution its own row, starting from the product's defaults (ON CONFLICT
    DO NOTHING: two requests doing it at once are harmless)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(DistributionOffer)
        .values(
            distribution_id=distribution.id, product_id=product.id, active=True, stock=product.stock
        )
        .on_conflict_do_nothing(index_elements=["distribution_id", "product_id"])
    )


def _locked_row(session: Session, distribution: Distribution, product: Product):
    _insert_if_missing(session, distribution, product)
    return session.scalars(
        select(DistributionOffer)
        .where(
            DistributionOffer.distribution_id == distribution.id,
            DistributionOffer.product_id == product.id,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def move_stock(
    session: Session, distribution: Distribution, product: Product, delta: Decimal
) -> Decimal:
    """Take `delta` units of this distribution's stock (or give them back); return what was
    moved. Only this distribution's row is touched."""
    where = (
        DistributionOffer.distribution_id == distribution.id,
        DistributionOffer.product_id == product.id,
    )
    if delta < 0:
        # Nothing was counted for this distribution without a row: nothing to give back.
        session.execute(
            update(DistributionOffer)
            .where(*where, DistributionOffer.stock.is_not(None))
            .values(stock=DistributionOffer.stock - delta)
            .execution_options(synchronize_session=False)
        )
        return delta
    if product.stock is not None:
        _insert_if_missing(session, distribution, product)
    stock = session.scalar(select(DistributionOffer.stock).where(*where).with_for_update())
    if stock is None:  # no row and no default stock, or unlimited for this distribution
        return delta
    take = min(delta, stock)
    if not product.weighed:
        take = take.to_integral_value(rounding=ROUND_FLOOR)
    if take > 0:
        session.execute(
            update(DistributionOffer)
            .where(*where)
            .values(stock=DistributionOffer.stock - take)
            .execution_options(synchronize_session=False)
        )
    return take
