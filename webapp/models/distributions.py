"""Distribution days, the catalogues taking part, and the volunteers on duty."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Numeric,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..domain.cycle import Status, status
from ..extensions import db
from .catalogues import Catalogue, Place
from .groups import User
from .types import UTCDateTime

distribution_catalogues = Table(
    "distribution_catalogues",
    db.metadata,
    Column(
        "distribution_id",
        ForeignKey("distributions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("catalogue_id", ForeignKey("catalogues.id", ondelete="CASCADE"), primary_key=True),
)


class Distribution(db.Model):
    __tablename__ = "distributions"
    __table_args__ = (
        CheckConstraint("orders_open_at < orders_close_at", name="open_before_close"),
        CheckConstraint("orders_close_at <= starts_at", name="close_before_start"),
        CheckConstraint("starts_at < ends_at", name="start_before_end"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    orders_open_at: Mapped[datetime] = mapped_column(UTCDateTime)
    orders_close_at: Mapped[datetime] = mapped_column(UTCDateTime)
    validated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    validated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Cash-up: what the coordinator counted in the till, against what the sheet recorded.
    counted_cash_cents: Mapped[int | None] = mapped_column(BigInteger)
    counted_cheque_cents: Mapped[int | None] = mapped_column(BigInteger)

    place: Mapped[Place] = relationship()
    catalogues: Mapped[list[Catalogue]] = relationship(secondary=distribution_catalogues)

    def status(self, now: datetime) -> Status:
        return status(self, now)


class DutyAssignment(db.Model):
    """A member on duty at a distribution, in a named role ("accueil", "caisse"...)."""

    __tablename__ = "duty_assignments"
    __table_args__ = (UniqueConstraint("distribution_id", "user_id", "role_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    distribution_id: Mapped[int] = mapped_column(
        ForeignKey("distributions.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role_name: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class DistributionOffer(db.Model):
    """A product's offer for one distribution: available or not, and its own stock
    ("20 crottins this week"). Without a row, the product's own flags apply."""

    __tablename__ = "distribution_offers"
    __table_args__ = (CheckConstraint("stock IS NULL OR stock >= 0", name="stock_not_negative"),)

    distribution_id: Mapped[int] = mapped_column(
        ForeignKey("distributions.id", ondelete="CASCADE"), primary_key=True
    )
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    stock: Mapped[Decimal | None] = mapped_column(Numeric(10, 3))
