"""Balances read from the append-only ledger."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import LedgerEntry


def balance_cents(session: Session, *, group_id: int, user_id: int) -> int:
    """Sum of a member's confirmed entries in a group."""
    total = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0)).where(
            LedgerEntry.group_id == group_id,
            LedgerEntry.user_id == user_id,
            LedgerEntry.pending.is_(False),
        )
    )
    return int(total or 0)
