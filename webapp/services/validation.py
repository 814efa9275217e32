"""Validating a distribution: what the tablet recorded becomes confirmed ledger entries.

    recorded on the sheet --(validate basket | validate all)--> confirmed in the ledger
                          <--(undo: reversing entries appended)--

Nothing is ever updated or deleted in the ledger: validation appends the basket's debit
and each payment; undo appends their reversals. A gap between paid and due stays in the
member's balance, and is shown.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..domain.cycle import Status
from ..domain.sheet import BasketState, basket_progress
from ..models import Basket, Distribution, LedgerEntry, OrderLine, SheetEvent, User
from . import ServiceError
from .reports import MemberOrder, day_orders
from .sheet import sheet_state

COORDINATOR_DEVICE = "coordinator-{}"


@dataclass
class BasketCheck:
    order: MemberOrder
    state: BasketState | None
    validated: bool
    late: bool
    paid_by_method: dict[str, int] = field(default_factory=dict)

    @property
    def due_cents(self) -> int:
        return self.order.total_cents

    @property
    def paid_cents(self) -> int:
        return sum(self.paid_by_method.values())

    @property
    def gap_cents(self) -> int:
        return self.paid_cents - self.due_cents

    @property
    def progress(self) -> str:
        return basket_progress(
            self.state, [line.id for line in self.order.lines if line.quantity > 0]
        )

    @property
    def signed(self) -> bool:
        return bool(self.state and self.state.signature)

    @property
    def to_check(self) -> bool:
        return self.gap_cents != 0 or self.progress != "collected" or self.late


def review(session: Session, distribution: Distribution) -> list[BasketCheck]:
    """Every basket with what is due, what the sheet says was paid, collected, signed."""
    orders = day_orders(session, distribution, with_balances=True)
    states = sheet_state(session, distribution)
    validated = dict(
        session.execute(
            select(Basket.id, Basket.validated_at).where(Basket.distribution_id == distribution.id)
        ).all()
    )
    late = set(
        session.scalars(
            select(SheetEvent.basket_id).where(
                SheetEvent.distribution_id == distribution.id, SheetEvent.late.is_(True)
            )
        )
    )
    checks = []
    for order in orders:
        state = states.get(order.basket.id)
        paid = state.paid_by_method() if state else {}
        checks.append(
            BasketCheck(
                order,
                state,
                validated.get(order.basket.id) is not None,
                order.basket.id in late,
                paid,
            )
        )
    return checks


def cash_up(checks: list[BasketCheck]) -> dict[str, int]:
    """Money recorded on the sheet, per payment method."""
    totals: dict[str, int] = {}
    for check in checks:
        for method, cents in check.paid_by_method.items():
            totals[method] = totals.get(method, 0) + cents
    return totals


def _refuse_unless_open_for_validation(distribution: Distribution, now: datetime) -> None:
    state = distribution.status(now)
    if state == Status.VALIDATED:
        raise ServiceError(_("This distribution is already validated."), status=409)
    if state in (Status.SCHEDULED, Status.OPEN, Status.CLOSED):
        raise ServiceError(_("A distribution can be validated once it has started."), status=409)


def validate(
    session: Session,
    distribution: Distribution,
    *,
    actor: User,
    now: datetime,
    basket_id: int | None = None,
) -> int:
    """Confirm baskets in the ledger (one, or all that are left); lock the day when all are."""
    _refuse_unless_open_for_validation(distribution, now)
    # Lock the distribution row: two coordinators validating at once append entries once.
    session.execute(
        select(Distribution.id).where(Distribution.id == distribution.id).with_for_update()
    )
    checks = [c for c in review(session, distribution) if not c.validated]
    if basket_id is not None:
        checks = [c for c in checks if c.order.basket.id == basket_id]
        if not checks:
            raise ServiceError(_("This basket is already validated."), status=409)
    for check in checks:
        _append_basket(session, distribution, check, actor=actor, now=now)
    session.execute(
        update(Basket)
        .where(Basket.id.in_([c.order.basket.id for c in checks]))
        .values(validated_at=now)
    )
    left = session.scalar(
        select(func.count(Basket.id)).where(
            Basket.distribution_id == distribution.id,
            Basket.validated_at.is_(None),
            Basket.id.in_(select(OrderLine.basket_id).where(OrderLine.quantity > 0)),
        )
    )
    if basket_id is None or not left:
        distribution.validated_at = now
        distribution.validated_by_id = actor.id
    session.flush()
    return len(checks)


def _append_basket(session, distribution, check: BasketCheck, *, actor, now) -> None:
    common = dict(
        group_id=distribution.group_id,
        user_id=check.order.user.id,
        distribution_id=distribution.id,
        basket_id=check.order.basket.id,
        created_by_id=actor.id,
        created_at=now,
        pending=False,
    )
    if check.due_cents:
        session.add(LedgerEntry(kind="order", amount_cents=-check.due_cents, **common))
    for payment in check.state.live_payments() if check.state else []:
        method = payment.payload["method"]
        if method == "balance":
            continue  # paid from the balance: the debit alone moves it
        session.add(
            LedgerEntry(
                kind="payment",
                amount_cents=payment.payload["amount_cents"],
                payment_method=method,
                note=payment.id[:36],
                **common,
            )
        )


def undo(session: Session, distribution: Distribution, *, actor: User, now: datetime) -> int:
    """Reverse every confirmed entry of the day (appending), and unlock it."""
    if distribution.validated_at is None:
        raise ServiceError(_("This distribution is not validated."), status=409)
    session.execute(
        select(Distribution.id).where(Distribution.id == distribution.id).with_for_update()
    )
    reversed_ids = select(LedgerEntry.reverses_id).where(LedgerEntry.reverses_id.is_not(None))
    entries = session.scalars(
        select(LedgerEntry).where(
            LedgerEntry.distribution_id == distribution.id,
            LedgerEntry.kind.in_(("order", "payment")),
            LedgerEntry.id.not_in(reversed_ids),
        )
    ).all()
    for entry in entries:
        session.add(
            LedgerEntry(
                kind="reversal",
                amount_cents=-entry.amount_cents,
                reverses_id=entry.id,
                group_id=entry.group_id,
                user_id=entry.user_id,
                distribution_id=entry.distribution_id,
                basket_id=entry.basket_id,
                payment_method=entry.payment_method,
                created_by_id=actor.id,
                created_at=now,
                note=_("Validation undone"),
            )
        )
    session.execute(
        update(Basket).where(Basket.distribution_id == distribution.id).values(validated_at=None)
    )
    distribution.validated_at = None
    distribution.validated_by_id = None
    session.flush()
    return len(entries)


def record_on_sheet(
    session: Session,
    distribution: Distribution,
    basket: Basket,
    *,
    kind: str,
    payload: dict,
    actor: User,
    now: datetime,
) -> None:
    """A coordinator's correction recorded like a tablet's event, so one merge reads both."""
    if distribution.validated_at is not None or basket.validated_at is not None:
        raise ServiceError(_("Validated: undo the validation to correct it."), status=409)
    session.add(
        SheetEvent(
            id=str(uuid.uuid4()),
            distribution_id=distribution.id,
            basket_id=basket.id,
            device_id=COORDINATOR_DEVICE.format(actor.id),
            kind=kind,
            payload=payload,
            recorded_at=now,
            received_at=now,
            late=False,
            user_id=actor.id,
        )
    )
    session.flush()


def record_money(
    session: Session,
    *,
    group_id: int,
    member: User,
    kind: str,
    amount_cents: int,
    method: str | None,
    note: str,
    actor: User,
    now: datetime,
    distribution_id: int | None = None,
    basket_id: int | None = None,
) -> LedgerEntry:
    """A payment received or a refund given outside the tablet: confirmed at once."""
    if amount_cents <= 0:
        raise ServiceError(_("Enter an amount above zero."), field="amount")
    if kind not in ("payment", "refund"):
        raise ServiceError(_("Unknown action."))
    entry = LedgerEntry(
        group_id=group_id,
        user_id=member.id,
        kind=kind,
        amount_cents=amount_cents if kind == "payment" else -amount_cents,
        payment_method=method,
        note=note[:250],
        created_by_id=actor.id,
        created_at=now,
        pending=False,
        distribution_id=distribution_id,
        basket_id=basket_id,
    )
    session.add(entry)
    session.flush()
    return entry


def zero_product(
    session: Session, distribution: Distribution, product_id: int, *, actor: User, now: datetime
) -> int:
    """A product not delivered: its lines of the day go to zero (kept, with who and when)."""
    if distribution.validated_at is not None:
        raise ServiceError(_("Validated: undo the validation to correct it."), status=409)
    lines = session.scalars(
        select(OrderLine)
        .join(Basket)
        .where(
            Basket.distribution_id == distribution.id,
            OrderLine.product_id == product_id,
            OrderLine.quantity > 0,
        )
    ).all()
    for line in lines:
        line.ordered_quantity, line.quantity = line.quantity, Decimal(0)
        line.removed_at, line.removed_by_id = now, actor.id
    session.flush()
    return len(lines)


def change_price(
    session: Session, distribution: Distribution, product_id: int, price_cents: int
) -> int:
    """A new price for one product on this day's lines (the catalogue is unchanged)."""
    if distribution.validated_at is not None:
        raise ServiceError(_("Validated: undo the validation to correct it."), status=409)
    if price_cents < 0:
        raise ServiceError(_("A price cannot be negative."), field="price")
    result = session.execute(
        update(OrderLine)
        .where(
            OrderLine.product_id == product_id,
            OrderLine.basket_id.in_(
                select(Basket.id).where(Basket.distribution_id == distribution.id)
            ),
        )
        .values(unit_price_cents=price_cents)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return result.rowcount
