"""Reading distributions of a group."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, select
from sqlalchemy.orm import Session, selectinload

from ..domain.cycle import Status
from ..domain.money import basket_total_cents
from ..models import Basket, Distribution, DutyAssignment, Group, User


@dataclass(frozen=True)
class DistributionRow:
    distribution: Distribution
    status: Status
    basket: Basket | None
    basket_total_cents: int | None
    on_duty: bool = False


def coming_distributions(
    session: Session, group: Group, *, user: User, now: datetime, past_days: int = 7
) -> list[DistributionRow]:
    """Distributions of the group from a week ago on, with the user's basket total."""
    distributions = session.scalars(
        select(Distribution)
        .where(
            Distribution.group_id == group.id,
            Distribution.cancelled_at.is_(None),
            Distribution.ends_at >= now - timedelta(days=past_days),
        )
        .options(selectinload(Distribution.place), selectinload(Distribution.catalogues))
        .order_by(Distribution.starts_at)
    ).all()
    baskets = {
        b.distribution_id: b
        for b in session.scalars(
            select(Basket)
            .where(
                Basket.user_id == user.id, Basket.distribution_id.in_([d.id for d in distributions])
            )
            .options(selectinload(Basket.lines))
        )
    }
    duties = set(
        session.scalars(
            select(DutyAssignment.distribution_id).where(
                DutyAssignment.user_id == user.id,
                DutyAssignment.distribution_id.in_([d.id for d in distributions]),
            )
        )
    )
    rows = []
    for d in distributions:
        basket = baskets.get(d.id)
        lines = [line.as_line() for line in basket.lines if line.quantity > 0] if basket else []
        total = basket_total_cents(lines) if lines else None
        rows.append(DistributionRow(d, d.status(now), basket, total, d.id in duties))
    return rows


def planning_query(group: Group, *, now: datetime):
    """A coordinator's list: coming ones first (soonest first, the one under way too), then
    past ones (newest first); id last, so that pages of it neither repeat nor skip."""
    coming = Distribution.ends_at >= now
    return (
        select(Distribution)
        .where(Distribution.group_id == group.id)
        .options(selectinload(Distribution.place), selectinload(Distribution.catalogues))
        .order_by(
            case((coming, 0), else_=1),
            case((coming, Distribution.starts_at)),
            Distribution.starts_at.desc(),
            Distribution.id.desc(),
        )
    )
