"""AMAP contracts: a contract catalogue's season, its subscriptions, absences and
payment schedules. How they reach baskets and the ledger: `webapp.services.contracts`."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..domain.contracts import ContractState, SubscriptionState, contract_state
from ..extensions import db
from .catalogues import Catalogue, Product
from .distributions import Distribution
from .groups import User
from .types import UTCDateTime

contract_distributions = Table(
    "contract_distributions",
    db.metadata,
    Column("contract_id", ForeignKey("contracts.id", ondelete="CASCADE"), primary_key=True),
    Column("distribution_id", ForeignKey("distributions.id"), primary_key=True),
)

subscription_distributions = Table(
    "subscription_distributions",
    db.metadata,
    Column("subscription_id", ForeignKey("subscriptions.id", ondelete="CASCADE"), primary_key=True),
    Column("distribution_id", ForeignKey("distributions.id"), primary_key=True),
)


class Contract(db.Model):
    """A season of a contract catalogue (kind 'constant'): what a subscriber signs."""

    __tablename__ = "contracts"
    __table_args__ = (
        CheckConstraint("signup_opens_at < signup_closes_at", name="signup_window"),
        CheckConstraint("min_distributions >= 1", name="min_distributions_positive"),
        CheckConstraint("max_absences >= 0", name="max_absences_not_negative"),
        CheckConstraint("absence_notice_days >= 0", name="notice_not_negative"),
        CheckConstraint("billing IN ('upfront', 'per_distribution')", name="billing_known"),
        CheckConstraint("absence_policy IN ('skip', 'give')", name="absence_policy_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    catalogue_id: Mapped[int] = mapped_column(ForeignKey("catalogues.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    signup_opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    signup_closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    min_distributions: Mapped[int] = mapped_column(Integer, default=1)
    max_absences: Mapped[int] = mapped_column(Integer, default=0)
    absence_notice_days: Mapped[int] = mapped_column(Integer, default=0)
    # skip: the basket is not prepared nor charged; give: the member names who takes it.
    absence_policy: Mapped[str] = mapped_column(String(10), default="skip")
    billing: Mapped[str] = mapped_column(String(20), default="upfront")
    # The numbers of instalments the producer accepts ("1,3,9") and how ("cheque,transfer").
    instalments: Mapped[str] = mapped_column(String(40), default="1")
    methods: Mapped[str] = mapped_column(String(40), default="cheque")
    cheque_order: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    catalogue: Mapped[Catalogue] = relationship()
    items: Mapped[list[ContractItem]] = relationship(
        back_populates="contract", order_by="ContractItem.id", cascade="all, delete-orphan"
    )
    distributions: Mapped[list[Distribution]] = relationship(
        secondary=contract_distributions, order_by="Distribution.starts_at"
    )

    def state(self, now: datetime) -> ContractState:
        return contract_state(self, now)

    @property
    def instalment_choices(self) -> list[int]:
        counts = (n.strip() for n in self.instalments.split(","))
        return [int(n) for n in counts if n.isascii() and n.isdigit()]

    @property
    def method_choices(self) -> list[str]:
        return [m for m in self.methods.split(",") if m]


class ContractItem(db.Model):
    """A share offered (a full share, a half share, eggs x6): a product and its fixed
    quantity per distribution, at the price written in the contract."""

    __tablename__ = "contract_items"
    __table_args__ = (
        UniqueConstraint("contract_id", "product_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price_cents >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[Decimal] = mapped_column(Numeric(10, 3))
    unit_price_cents: Mapped[int] = mapped_column(BigInteger)
    vat_rate: Mapped[Decimal] = mapped_column(Numeric(4, 2))

    contract: Mapped[Contract] = relationship(back_populates="items")
    product: Mapped[Product] = relationship()


class Subscription(db.Model):
    """A member's signed subscription, maybe shared with a partner."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'validated', 'cancelled')", name="state_known"),
        CheckConstraint("share_mode IN ('alone', 'alternate', 'split')", name="share_mode_known"),
        CheckConstraint("partner_id IS NULL OR partner_id <> user_id", name="partner_other"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    share_mode: Mapped[str] = mapped_column(String(10), default="alone")
    state: Mapped[str] = mapped_column(String(10), default="pending")
    instalments: Mapped[int] = mapped_column(Integer, default=1)
    method: Mapped[str] = mapped_column(String(20), default="cheque")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    validated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    validated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    contract: Mapped[Contract] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    partner: Mapped[User | None] = relationship(foreign_keys=[partner_id])
    lines: Mapped[list[SubscriptionLine]] = relationship(
        back_populates="subscription", order_by="SubscriptionLine.id"
    )
    distributions: Mapped[list[Distribution]] = relationship(
        secondary=subscription_distributions, order_by="Distribution.starts_at"
    )
    payments: Mapped[list[ContractPayment]] = relationship(
        back_populates="subscription", order_by="(ContractPayment.due_on, ContractPayment.id)"
    )
    absences: Mapped[list[ContractAbsence]] = relationship(back_populates="subscription")

    @property
    def status(self) -> SubscriptionState:
        return SubscriptionState(self.state)


class SubscriptionLine(db.Model):
    """What the subscriber takes at each date, at the contract's price (signed terms)."""

    __tablename__ = "subscription_lines"
    __table_args__ = (
        UniqueConstraint("subscription_id", "product_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price_cents >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[Decimal] = mapped_column(Numeric(10, 3))
    unit_price_cents: Mapped[int] = mapped_column(BigInteger)
    vat_rate: Mapped[Decimal] = mapped_column(Numeric(4, 2))

    subscription: Mapped[Subscription] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()


class ContractAbsence(db.Model):
    """A date a subscriber will miss: the basket is not prepared (or given to someone)."""

    __tablename__ = "contract_absences"
    __table_args__ = (UniqueConstraint("subscription_id", "distribution_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True
    )
    distribution_id: Mapped[int] = mapped_column(ForeignKey("distributions.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    given_to: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    subscription: Mapped[Subscription] = relationship(back_populates="absences")
    distribution: Mapped[Distribution] = relationship()
    user: Mapped[User] = relationship()


class ContractPayment(db.Model):
    """One instalment of a schedule: due, then received (a ledger payment), then cashed."""

    __tablename__ = "contract_payments"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint("cashed_at IS NULL OR received_at IS NOT NULL", name="cashed_received"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True
    )
    payer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    due_on: Mapped[date] = mapped_column(Date)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[str] = mapped_column(String(20))
    cheque_number: Mapped[str] = mapped_column(String(40), default="")
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cashed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ledger_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))

    subscription: Mapped[Subscription] = relationship(back_populates="payments")
    payer: Mapped[User] = relationship()
