"""Producers, their catalogues in a group, and products; places."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Numeric,
    String,
    Text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime

# Codes stored in products.unit (no CHECK: the list lives here). Append, never rename.
UNITS = ("piece", "kg", "g", "litre", "bunch", "dozen", "jar", "box", "cl", "bottle", "tray")


class Producer(db.Model):
    """A farm or workshop; it may supply several groups, one catalogue in each."""

    __tablename__ = "producers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    trade: Mapped[str] = mapped_column(String(120), default="")
    city: Mapped[str] = mapped_column(String(120), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_in_group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Where the purchase order goes while the producer has no account (the account wins).
    email: Mapped[str | None] = mapped_column(String(254))


class Place(db.Model):
    __tablename__ = "places"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(250), default="")


class Catalogue(db.Model):
    __tablename__ = "catalogues"
    __table_args__ = (
        # 'constant' is kept for AMAP contracts, where one order repeats every week.
        CheckConstraint("kind IN ('variable', 'constant')", name="kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producers.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20), default="variable")
    description: Mapped[str] = mapped_column(Text, default="")
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The group lets the producer edit this catalogue's products, prices and stock.
    producer_can_edit: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    producer: Mapped[Producer] = relationship()
    products: Mapped[list[Product]] = relationship(
        back_populates="catalogue", order_by="Product.name"
    )


class Product(db.Model):
    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("price_cents >= 0", name="price_not_negative"),
        CheckConstraint("vat_rate >= 0 AND vat_rate < 100", name="vat_rate_range"),
        CheckConstraint("stock IS NULL OR stock >= 0", name="stock_not_negative"),
        CheckConstraint("quantity_per_unit > 0", name="quantity_per_unit_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    catalogue_id: Mapped[int] = mapped_column(
        ForeignKey("catalogues.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    unit: Mapped[str] = mapped_column(String(20), default="piece")
    quantity_per_unit: Mapped[Decimal] = mapped_column(Numeric(10, 3), default=Decimal(1))
    weighed: Mapped[bool] = mapped_column(Boolean, default=False)
    price_cents: Mapped[int] = mapped_column(BigInteger)
    vat_rate: Mapped[Decimal] = mapped_column(Numeric(4, 2), default=Decimal("5.5"))
    photo: Mapped[str | None] = mapped_column(String(200))
    stock: Mapped[Decimal | None] = mapped_column(Numeric(10, 3))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    catalogue: Mapped[Catalogue] = relationship(back_populates="products")
