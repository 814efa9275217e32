"""Yearly memberships: the group's rules, the fees paid, and erased accounts.

A fee paid is two ledger entries: a `membership` debit (what the period costs) and a
`payment` credit (the money received), so the balance is unchanged by a fee paid in cash
and still equals the sum of entries; a fee paid "from balance" is the debit alone.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .groups import User
from .types import UTCDateTime

FEE_MODES = ("none", "fixed", "free")
UNPAID_RULES = ("nothing", "warn", "block")


class MembershipSettings(db.Model):
    """A group's membership rules; without a row: no fee, nothing happens."""

    __tablename__ = "membership_settings"
    __table_args__ = (
        CheckConstraint("start_month BETWEEN 1 AND 12", name="start_month_valid"),
        CheckConstraint("fee_mode IN ('none', 'fixed', 'free')", name="fee_mode_known"),
        CheckConstraint("unpaid_rule IN ('nothing', 'warn', 'block')", name="unpaid_rule_known"),
        CheckConstraint("fee_mode = 'none' OR fee_cents > 0", name="fee_positive"),
    )

    group_id: Mapped[int] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    )
    # 1: the calendar year; another month: a year from the first of that month.
    start_month: Mapped[int] = mapped_column(Integer, default=1)
    fee_mode: Mapped[str] = mapped_column(String(10), default="none")
    # The fee when fixed; the minimum when the amount is free.
    fee_cents: Mapped[int | None] = mapped_column(BigInteger)
    unpaid_rule: Mapped[str] = mapped_column(String(10), default="nothing")


class MembershipFee(db.Model):
    """A member's fee for one period, as recorded by a coordinator."""

    __tablename__ = "membership_fees"
    __table_args__ = (
        UniqueConstraint("group_id", "user_id", "period_start"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    period_start: Mapped[date] = mapped_column(Date)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[str] = mapped_column(String(20))
    paid_on: Mapped[date] = mapped_column(Date)
    debit_entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"))
    payment_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class AccountErasure(db.Model):
    """An account whose personal data was erased: its money records stay, nameless."""

    __tablename__ = "account_erasures"
    __table_args__ = (CheckConstraint("asked_by IN ('self', 'paper')", name="asked_by_known"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    asked_by: Mapped[str] = mapped_column(String(10))
    erased_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime)
