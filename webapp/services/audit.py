"""The audit trail: every coordinator or catalogue manager action on orders and money,
stored append-only with who, when, what, before and after."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from ..models import AuditEntry, User


def _plain(value):
    """JSON-safe copies of what changed (Decimals as text, nested dicts and lists)."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def record(
    session: Session,
    *,
    group_id: int,
    actor: User | None,
    action: str,
    now: datetime,
    distribution_id: int | None = None,
    member_id: int | None = None,
    target: str = "",
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEntry:
    """Append one entry to the audit trail."""
    entry = AuditEntry(
        group_id=group_id,
        distribution_id=distribution_id,
        member_id=member_id,
        actor_id=actor.id if actor is not None else None,
        action=action,
        target=target[:200],
        before=_plain(before),
        after=_plain(after),
        created_at=now,
    )
    session.add(entry)
    session.flush()
    return entry


def trail(
    session: Session,
    *,
    group_id: int,
    distribution_id: int | None = None,
    member_id: int | None = None,
    limit: int = 200,
) -> list[AuditEntry]:
    """The newest entries of a distribution day or about a member."""
    query = select(AuditEntry).where(AuditEntry.group_id == group_id)
    if distribution_id is not None:
        query = query.where(AuditEntry.distribution_id == distribution_id)
    if member_id is not None:
        query = query.where(or_(AuditEntry.member_id == member_id))
    return list(
        session.scalars(
            query.options(selectinload(AuditEntry.actor), selectinload(AuditEntry.member))
            .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
            .limit(limit)
        )
    )
