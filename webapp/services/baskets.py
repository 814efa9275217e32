"""Baskets: one per member and distribution, numbered in order of creation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Basket, Distribution, User


def get_or_create_basket(
    session: Session, distribution: Distribution, user: User, *, now: datetime
) -> Basket:
    """Return the member's basket for the day, creating it with the next number."""
    basket = session.scalar(
        select(Basket).where(Basket.distribution_id == distribution.id, Basket.user_id == user.id)
    )
    if basket:
        return basket
    # Serialise numbering per distribution: the row lock on PostgreSQL, BEGIN IMMEDIATE on
    # SQLite; the unique constraint (distribution_id, number) is the last guard.
    session.execute(
        select(Distribution.id).where(Distribution.id == distribution.id).with_for_update()
    )
    number = (
        session.scalar(
            select(func.max(Basket.number)).where(Basket.distribution_id == distribution.id)
        )
        or 0
    ) + 1
    basket = Basket(distribution_id=distribution.id, user_id=user.id, number=number, created_at=now)
    session.add(basket)
    session.flush()
    return basket
