"""What coordinators read per contract: subscribers, shares per distribution, absences,
payments due, received and cashed; each also as CSV rows."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from ..models import Basket, OrderLine, Product
from ..models.contracts import (
    Contract,
    ContractAbsence,
    ContractPayment,
    Subscription,
    SubscriptionLine,
)
from . import contracts as svc


def subscriptions_of(session: Session, contract: Contract) -> list[Subscription]:
    return list(
        session.scalars(
            select(Subscription)
            .where(Subscription.contract_id == contract.id)
            .options(
                selectinload(Subscription.user),
                selectinload(Subscription.partner),
                selectinload(Subscription.lines).selectinload(SubscriptionLine.product),
                selectinload(Subscription.distributions),
                selectinload(Subscription.payments),
                selectinload(Subscription.absences),
            )
            .order_by(Subscription.id)
        )
    )


@dataclass
class SubscriberRow:
    subscription: Subscription
    total_cents: int
    received_cents: int

    @property
    def due_cents(self) -> int:
        return self.total_cents - self.received_cents


def subscribers(session: Session, contract: Contract) -> list[SubscriberRow]:
    rows = []
    for sub in subscriptions_of(session, contract):
        received = sum(p.amount_cents for p in sub.payments if p.received_at is not None)
        rows.append(SubscriberRow(sub, sum(svc.totals(sub).values()), received))
    return rows


@dataclass
class DateRow:
    distribution: object
    quantities: dict[int, Decimal]  # product id -> contract quantity in the baskets
    baskets: int
    absences: int


def shares_per_date(session: Session, contract: Contract) -> list[DateRow]:
    """Per date of the season: the contract quantities the producer brings (absences
    already taken out), the baskets holding them and the absences declared."""
    ids = [d.id for d in contract.distributions]
    subs = select(Subscription.id).where(Subscription.contract_id == contract.id)
    quantities: dict[int, dict[int, Decimal]] = {i: {} for i in ids}
    for did, pid, qty in session.execute(
        select(Basket.distribution_id, OrderLine.product_id, func.sum(OrderLine.quantity))
        .join(Basket)
        .where(OrderLine.subscription_id.in_(subs), Basket.distribution_id.in_(ids))
        .group_by(Basket.distribution_id, OrderLine.product_id)
    ):
        quantities[did][pid] = Decimal(qty)
    baskets = dict(
        session.execute(
            select(Basket.distribution_id, func.count(func.distinct(Basket.id)))
            .join(OrderLine)
            .where(OrderLine.subscription_id.in_(subs), OrderLine.quantity > 0)
            .group_by(Basket.distribution_id)
        ).all()
    )
    absent = dict(
        session.execute(
            select(ContractAbsence.distribution_id, func.count(ContractAbsence.id))
            .where(ContractAbsence.subscription_id.in_(subs))
            .group_by(ContractAbsence.distribution_id)
        ).all()
    )
    return [
        DateRow(d, quantities[d.id], baskets.get(d.id, 0), absent.get(d.id, 0))
        for d in contract.distributions
    ]


def absences(session: Session, contract: Contract) -> list[ContractAbsence]:
    return list(
        session.scalars(
            select(ContractAbsence)
            .join(Subscription)
            .where(Subscription.contract_id == contract.id)
            .options(selectinload(ContractAbsence.user), selectinload(ContractAbsence.distribution))
            .order_by(ContractAbsence.distribution_id, ContractAbsence.id)
        )
    )


def payments(session: Session, contract: Contract) -> list[ContractPayment]:
    return list(
        session.scalars(
            select(ContractPayment)
            .join(Subscription)
            .where(Subscription.contract_id == contract.id)
            .options(selectinload(ContractPayment.payer))
            .order_by(ContractPayment.due_on, ContractPayment.id)
        )
    )


def products_of(contract: Contract) -> list[Product]:
    return [item.product for item in contract.items]
