"""Balances read from the append-only ledger."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import Session

from ..models import LedgerEntry, Membership, User
from .accounts import named


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


def _confirmed(group_id: int, user_id: int):
    return (
        LedgerEntry.group_id == group_id,
        LedgerEntry.user_id == user_id,
        LedgerEntry.pending.is_(False),
    )


def history_query(*, group_id: int, user_id: int) -> Select:
    """A member's confirmed entries in a group, newest first (id breaks ties)."""
    return (
        select(LedgerEntry)
        .where(*_confirmed(group_id, user_id))
        .order_by(LedgerEntry.created_at.desc(), LedgerEntry.id.desc())
    )


def history_totals(session: Session, *, group_id: int, user_id: int) -> tuple[int, int]:
    """How many confirmed entries a member has in a group, and their balance: one query."""
    entries, total = session.execute(
        select(func.count(), func.coalesce(func.sum(LedgerEntry.amount_cents), 0)).where(
            *_confirmed(group_id, user_id)
        )
    ).one()
    return int(entries), int(total)


def balance_before(session: Session, entry: LedgerEntry) -> int:
    """The member's balance just before `entry`, in the history's order (date, then id)."""
    earlier = or_(
        LedgerEntry.created_at < entry.created_at,
        and_(LedgerEntry.created_at == entry.created_at, LedgerEntry.id < entry.id),
    )
    total = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0)).where(
            *_confirmed(entry.group_id, entry.user_id), earlier
        )
    )
    return int(total or 0)


def with_running_balance(session: Session, entries: list[LedgerEntry]) -> list[tuple]:
    """(entry, balance after it) for a page of the history, newest first: one SUM for the
    balance at the page's oldest entry, never the earlier entries themselves."""
    if not entries:
        return []
    running, rows = balance_before(session, entries[-1]), []
    for entry in reversed(entries):
        running += entry.amount_cents
        rows.append((entry, running))
    return rows[::-1]


def balances_query(*, group_id: int, search: str = "") -> Select:
    """(user, balance) of each member of a group (whose name or e-mail holds `search`), by
    name then id."""
    query = (
        select(User, func.coalesce(func.sum(LedgerEntry.amount_cents), 0).label("balance"))
        .join(Membership, Membership.user_id == User.id)
        .outerjoin(
            LedgerEntry,
            (LedgerEntry.user_id == User.id)
            & (LedgerEntry.group_id == group_id)
            & LedgerEntry.pending.is_(False),
        )
        .where(Membership.group_id == group_id)
        .group_by(User.id)
        .order_by(func.lower(User.last_name), func.lower(User.first_name), User.id)
    )
    return query.where(named(search)) if search.strip() else query


@dataclass(frozen=True)
class BalancesSummary:
    members: int
    total_cents: int
    in_debt: int
    in_debt_cents: int


def balances_summary(session: Session, *, group_id: int) -> BalancesSummary:
    """Over every member (not a page of them): how many, the sum of balances, the debts."""
    per_member = balances_query(group_id=group_id).order_by(None).subquery()
    balance = per_member.c.balance
    debt = case((balance < 0, balance), else_=0)
    members, total, in_debt, debts = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(balance), 0),
            func.coalesce(func.sum(case((balance < 0, 1), else_=0)), 0),
            func.coalesce(func.sum(debt), 0),
        ).select_from(per_member)
    ).one()
    return BalancesSummary(int(members), int(total), int(in_debt), int(debts))
