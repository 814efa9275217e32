"""Baskets (one per member and distribution) and their order lines."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Numeric, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..domain.money import Line
from ..extensions import db
from .catalogues import Product
from .groups import User
from .types import UTCDateTime


class Basket(db.Model):
    __tablename__ = "baskets"
    __table_args__ = (
        UniqueConstraint("distribution_id", "user_id"),
        UniqueConstraint("distribution_id", "number"),
        CheckConstraint("number > 0", name="number_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    distribution_id: Mapped[int] = mapped_column(
        ForeignKey("distributions.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    number: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set when a coordinator validates this basket (alone or with its whole distribution).
    validated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
    lines: Mapped[list[OrderLine]] = relationship(back_populates="basket", order_by="OrderLine.id")


class OrderLine(db.Model):
    __tablename__ = "order_lines"
    __table_args__ = (
        UniqueConstraint("basket_id", "product_id"),
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        CheckConstraint("unit_price_cents >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    basket_id: Mapped[int] = mapped_column(ForeignKey("baskets.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Numeric(10, 3))
    # Frozen at order time: a later price change does not touch what was ordered.
    unit_price_cents: Mapped[int] = mapped_column(BigInteger)
    vat_rate: Mapped[Decimal] = mapped_column(Numeric(4, 2))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set when a coordinator takes an unavailable product out of the orders: the line stays,
    # at quantity 0, with what was ordered, who removed it and when.
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    ordered_quantity: Mapped[Decimal | None] = mapped_column(Numeric(10, 3))
    # A contract line: put there by an AMAP subscription (services/contracts.py), not the shop.
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("subscriptions.id"), index=True)

    basket: Mapped[Basket] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()

    def as_line(self) -> Line:
        return Line(self.quantity, self.unit_price_cents, self.vat_rate)

    @property
    def total_cents(self) -> int:
        return self.as_line().total_cents
