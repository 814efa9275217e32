"""The append-only ledger of a member's money in a group.

A row is never updated nor deleted: a mistake is fixed by a reversing entry
(`reverses_id`). Sign convention: a balance is the sum of confirmed amounts, so an
order debit is negative, a payment positive, a refund (money given back) negative, and a
membership fee negative (the fee received is a payment beside it).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime

ENTRY_KINDS = ("order", "payment", "refund", "correction", "reversal", "membership")


class LedgerEntry(db.Model):
    __tablename__ = "ledger_entries"
    __table_args__ = (
        # a member's balance and history in a group: one index range (migration 0012)
        Index("ix_ledger_entries_group_user_created", "group_id", "user_id", "created_at"),
        CheckConstraint(
            "kind IN ('order', 'payment', 'refund', 'correction', 'reversal', 'membership')",
            name="kind_known",
        ),
        CheckConstraint("kind <> 'membership' OR amount_cents < 0", name="membership_is_debit"),
        CheckConstraint("kind <> 'order' OR amount_cents <= 0", name="order_is_debit"),
        CheckConstraint("kind <> 'payment' OR amount_cents > 0", name="payment_is_credit"),
        CheckConstraint("kind <> 'refund' OR amount_cents < 0", name="refund_is_debit"),
        CheckConstraint("(kind = 'reversal') = (reverses_id IS NOT NULL)", name="reversal_links"),
        CheckConstraint(
            "payment_method IS NULL OR payment_method IN "
            "('cash', 'cheque', 'card', 'transfer', 'balance')",
            name="payment_method_known",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    distribution_id: Mapped[int | None] = mapped_column(ForeignKey("distributions.id"), index=True)
    basket_id: Mapped[int | None] = mapped_column(ForeignKey("baskets.id"))
    kind: Mapped[str] = mapped_column(String(20))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    payment_method: Mapped[str | None] = mapped_column(String(20))
    pending: Mapped[bool] = mapped_column(Boolean, default=False)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"), unique=True)
    note: Mapped[str] = mapped_column(String(250), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
