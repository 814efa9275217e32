"""Validating a distribution: what the tablet recorded becomes confirmed ledger entries.

    recorded on the sheet --(validate basket | validate all)--> confirmed in the ledger
                          <--(undo basket | undo all: reversing entries appended)--

Nothing is ever updated or deleted in the ledger: validation appends the basket's debit
and each payment; undo appends their reversals. A gap between paid and due stays in the
member's balance, and is shown.

A validated basket is closed: tablet events that reach it afterwards are stored, flagged
late and listed for review, but do not count until its validation is undone; corrections
and edits are refused until then (the action table in `webapp.domain.cycle`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..domain.cycle import Action
from ..domain.sheet import (
    BasketState,
    Context,
    DueLine,
    Rejected,
    basket_due_cents,
    basket_progress,
    due_quantity,
    merge,
    parse_event,
)
from ..models import Basket, Distribution, LedgerEntry, OrderLine, SheetEvent, User
from . import ServiceError, audit, cycle_rules
from .reports import BasketRow, MemberOrder, Person, day_orders

COORDINATOR_DEVICE = "coordinator-{}"


@dataclass
class BasketCheck:
    order: MemberOrder
    state: BasketState | None
    validated: bool
    late: bool
    paid_by_method: dict[str, int] = field(default_factory=dict)

    @property
    def due_lines(self) -> list[DueLine]:
        return [
            DueLine(line.id, line.quantity, line.unit_price_cents, line.product.weighed)
            for line in self.order.lines
            if line.quantity > 0
        ]

    @property
    def due_cents(self) -> int:
        """What the basket owes: weighed quantities of the day, ordered ones otherwise."""
        return basket_due_cents(self.state, self.due_lines)

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


def counted_states(session: Session, distribution: Distribution) -> dict[int, BasketState]:
    """The merged state of every basket from what counts: for a validated basket, the
    events it was validated with (late ones wait for review)."""
    validated_at = dict(
        session.execute(
            select(Basket.id, Basket.validated_at).where(
                Basket.distribution_id == distribution.id, Basket.validated_at.is_not(None)
            )
        ).all()
    )
    events = session.scalars(
        select(SheetEvent).where(SheetEvent.distribution_id == distribution.id)
    ).all()
    day_closed_at = distribution.validated_at

    def counts(e: SheetEvent) -> bool:
        if not e.late:
            return True
        closed_at = validated_at.get(e.basket_id, day_closed_at)
        return closed_at is None or e.received_at < closed_at

    return merge(e.as_event() for e in events if counts(e))


def review(session: Session, distribution: Distribution) -> list[BasketCheck]:
    """Every basket with what is due, what the sheet says was paid, collected, signed."""
    # Baskets left with no line (all weighed at 0, not delivered, removed) stay on the page
    # when the tablet recorded something for them or they were validated: their payments
    # are money to confirm.
    orders = day_orders(session, distribution, with_balances=True, keep_empty=True)
    states = counted_states(session, distribution)
    listed = {o.basket.id for o in orders}
    orders += _baskets_without_lines(session, distribution, set(states) - listed)
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
        empty = not any(line.quantity > 0 for line in order.lines)
        if empty and state is None and validated.get(order.basket.id) is None:
            continue
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


def _baskets_without_lines(
    session: Session, distribution: Distribution, basket_ids: set[int]
) -> list[MemberOrder]:
    """Baskets the tablet recorded something for but whose lines were all taken out (a
    coordinator emptied them): still on the page, their payments wait for the ledger."""
    if not basket_ids:
        return []
    rows = session.execute(
        select(Basket.id, Basket.number, User.id, User.first_name, User.last_name, User.phone)
        .join(User, User.id == Basket.user_id)
        .where(Basket.distribution_id == distribution.id, Basket.id.in_(basket_ids))
        .order_by(Basket.number)
    )
    return [
        MemberOrder(BasketRow(bid, number), Person(uid, first, last, phone), [])
        for bid, number, uid, first, last, phone in rows
    ]


def cash_up(checks: list[BasketCheck]) -> dict[str, int]:
    """Money recorded on the sheet, per payment method."""
    totals: dict[str, int] = {}
    for check in checks:
        for method, cents in check.paid_by_method.items():
            totals[method] = totals.get(method, 0) + cents
    return totals


COUNTED = (("cash", "counted_cash_cents"), ("cheque", "counted_cheque_cents"))


def cash_up_gaps(distribution: Distribution, totals: dict[str, int]) -> dict[str, int]:
    """Counted minus recorded, per method the coordinator counted, where they differ."""
    gaps = {}
    for method, attribute in COUNTED:
        counted = getattr(distribution, attribute)
        if counted is not None and counted != totals.get(method, 0):
            gaps[method] = counted - totals.get(method, 0)
    return gaps


class CashUpGap(ServiceError):
    """Validating the day while the counted till differs from the records: confirm first."""

    def __init__(self, gaps: dict[str, int]):
        super().__init__(_("The cash-up differs from what was recorded."), status=409)
        self.gaps = gaps


def validate(
    session: Session,
    distribution: Distribution,
    *,
    actor: User,
    now: datetime,
    basket_id: int | None = None,
    confirm_gap: bool = False,
) -> int:
    """Confirm baskets in the ledger (one, or all that are left); lock the day when all are."""
    action = Action.VALIDATE_DAY if basket_id is None else Action.VALIDATE_BASKET
    cycle_rules.check(action, distribution, now)
    # Lock the distribution row: two coordinators validating at once append entries once.
    session.execute(
        select(Distribution.id).where(Distribution.id == distribution.id).with_for_update()
    )
    session.refresh(distribution)
    cycle_rules.check(action, distribution, now)
    all_checks = review(session, distribution)
    checks = [c for c in all_checks if not c.validated]
    if basket_id is not None:
        basket = _basket_of(session, distribution, basket_id)
        cycle_rules.check(action, distribution, now, basket=basket)
        checks = [c for c in checks if c.order.basket.id == basket_id]
    # The day is closed when no basket of the page is left: also those with nothing due
    # left (all not delivered) whose payments still wait for the ledger.
    done = {c.order.basket.id for c in checks}
    closes_day = not [c for c in all_checks if not c.validated and c.order.basket.id not in done]
    if closes_day and not confirm_gap:
        gaps = cash_up_gaps(distribution, cash_up(all_checks))
        if gaps:
            raise CashUpGap(gaps)
    for check in checks:
        _apply_weighed(session, check, now=now)
        _append_basket(session, distribution, check, actor=actor, now=now)
    session.execute(
        update(Basket)
        .where(Basket.id.in_([c.order.basket.id for c in checks]))
        .values(validated_at=now)
    )
    if closes_day:
        distribution.validated_at = now
        distribution.validated_by_id = actor.id
    paid = cash_up(checks)
    audit.record(
        session,
        group_id=distribution.group_id,
        actor=actor,
        action="validate_basket" if basket_id is not None else "validate_day",
        now=now,
        distribution_id=distribution.id,
        member_id=checks[0].order.user.id if basket_id is not None and checks else None,
        target=(
            _("Basket %(n)d", n=checks[0].order.basket.number)
            if basket_id is not None and checks
            else ngettext("%(num)d basket", "%(num)d baskets", len(checks))
        ),
        after={"due_cents": sum(c.due_cents for c in checks), "paid": paid},
    )
    session.flush()
    return len(checks)


def _basket_of(session: Session, distribution: Distribution, basket_id: int) -> Basket:
    basket = session.get(Basket, basket_id, populate_existing=True)
    if basket is None or basket.distribution_id != distribution.id:
        raise ServiceError(_("This basket is not part of this distribution."), status=404)
    return basket


def _apply_weighed(session: Session, check: BasketCheck, *, now: datetime) -> None:
    """Write the quantities weighed on the day into the lines, so that receipts and
    summaries read what the ledger charged (what was ordered is kept)."""
    for due_line in check.due_lines:
        weighed = due_quantity(check.state, due_line)
        if weighed != due_line.quantity:
            line = session.get(OrderLine, due_line.line_id)
            if line.ordered_quantity is None:
                line.ordered_quantity = line.quantity
            line.quantity = weighed
            line.updated_at = now


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


def undo(
    session: Session,
    distribution: Distribution,
    *,
    actor: User,
    now: datetime,
    basket_id: int | None = None,
) -> int:
    """Reverse the confirmed entries of the day (or of one basket), appending; unlock it."""
    cycle_rules.check(Action.UNDO, distribution, now)
    session.execute(
        select(Distribution.id).where(Distribution.id == distribution.id).with_for_update()
    )
    baskets = select(Basket.id).where(
        Basket.distribution_id == distribution.id, Basket.validated_at.is_not(None)
    )
    if basket_id is not None:
        basket = _basket_of(session, distribution, basket_id)
        if basket.validated_at is None:
            raise ServiceError(_("This basket is not validated."), status=409)
        baskets = baskets.where(Basket.id == basket_id)
    elif distribution.validated_at is None:
        raise ServiceError(cycle_rules.reason_text("not_validated", distribution), status=409)
    basket_ids = list(session.scalars(baskets))
    reversed_ids = select(LedgerEntry.reverses_id).where(LedgerEntry.reverses_id.is_not(None))
    entries = session.scalars(
        select(LedgerEntry).where(
            LedgerEntry.distribution_id == distribution.id,
            LedgerEntry.basket_id.in_(basket_ids),
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
    session.execute(update(Basket).where(Basket.id.in_(basket_ids)).values(validated_at=None))
    _restore_ordered(session, basket_ids, now=now)
    distribution.validated_at = None
    distribution.validated_by_id = None
    audit.record(
        session,
        group_id=distribution.group_id,
        actor=actor,
        action="undo",
        now=now,
        distribution_id=distribution.id,
        member_id=_single_member(session, basket_ids),
        target=ngettext("%(num)d basket", "%(num)d baskets", len(basket_ids)),
        before={"entries": len(entries)},
    )
    session.flush()
    return len(entries)


def _restore_ordered(session: Session, basket_ids: list[int], *, now: datetime) -> None:
    """Lines weighed at validation go back to what was ordered: the tablet's weighings are
    read again at the next validation (a line weighed at 0 is not 'not delivered')."""
    lines = session.scalars(
        select(OrderLine).where(
            OrderLine.basket_id.in_(basket_ids),
            OrderLine.removed_at.is_(None),
            OrderLine.ordered_quantity.is_not(None),
        )
    ).all()
    for line in lines:
        line.quantity, line.ordered_quantity = line.ordered_quantity, None
        line.updated_at = now


def _single_member(session: Session, basket_ids: list[int]) -> int | None:
    if len(basket_ids) != 1:
        return None
    return session.scalar(select(Basket.user_id).where(Basket.id == basket_ids[0]))


PAYMENT_REASONS = {
    "unknown_payment_method": lambda: _("Unknown payment method."),
    "bad_amount": lambda: _("Enter an amount like 12,50 (two decimals at most)."),
    "amount_out_of_range": lambda: _("Enter an amount above zero and up to 10 000 €."),
}


def _checked_event(distribution, basket, *, kind, payload, methods, now, device_id) -> dict:
    """Run a coordinator's correction through the tablet's own checks (one way in)."""
    raw = {
        "id": str(uuid.uuid4()),
        "device_id": device_id,
        "kind": kind,
        "basket_id": basket.id,
        "recorded_at": now.isoformat(),
        "payload": payload,
    }
    ctx = Context(
        {basket.id: {ln.id for ln in basket.lines}}, frozenset(methods) | {"balance"}, now
    )
    try:
        return parse_event(raw, ctx).payload
    except Rejected as error:
        text = PAYMENT_REASONS.get(error.reason, lambda: _("This correction is not valid."))()
        raise ServiceError(text, field="amount" if "amount" in error.reason else None) from error


def record_on_sheet(
    session: Session,
    distribution: Distribution,
    basket: Basket,
    *,
    kind: str,
    payload: dict,
    actor: User,
    now: datetime,
    methods: list[str] | None = None,
) -> None:
    """A coordinator's correction recorded like a tablet's event, so one merge reads both."""
    cycle_rules.check(Action.CORRECT, distribution, now, basket=basket)
    device_id = COORDINATOR_DEVICE.format(actor.id)
    clean = _checked_event(
        distribution,
        basket,
        kind=kind,
        payload=payload,
        methods=methods if methods is not None else ["cash", "cheque", "card", "transfer"],
        now=now,
        device_id=device_id,
    )
    session.add(
        SheetEvent(
            id=str(uuid.uuid4()),
            distribution_id=distribution.id,
            basket_id=basket.id,
            device_id=device_id,
            kind=kind,
            payload=clean,
            recorded_at=now,
            received_at=now,
            late=False,
            user_id=actor.id,
        )
    )
    audit.record(
        session,
        group_id=distribution.group_id,
        actor=actor,
        action=f"correction_{kind}",
        now=now,
        distribution_id=distribution.id,
        member_id=basket.user_id,
        target=_("Basket %(n)d", n=basket.number),
        after=clean,
    )
    session.flush()


def check_money(amount_cents: int, method: str | None, methods: list[str]) -> None:
    """The same amount rules as the tablet's payments: above zero, a known method."""
    from ..domain.sheet import MAX_AMOUNT_CENTS

    if not 0 < amount_cents <= MAX_AMOUNT_CENTS:
        raise ServiceError(PAYMENT_REASONS["amount_out_of_range"](), field="amount")
    if method is not None and method not in methods:
        raise ServiceError(PAYMENT_REASONS["unknown_payment_method"](), field="method")


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
    methods: list[str] | None = None,
    distribution: Distribution | None = None,
    basket: Basket | None = None,
) -> LedgerEntry:
    """A payment received or a refund given outside the tablet: confirmed at once."""
    if kind not in ("payment", "refund"):
        raise ServiceError(_("Unknown action."))
    if distribution is not None:
        cycle_rules.check(Action.CORRECT, distribution, now, basket=basket)
    check_money(
        amount_cents,
        method,
        methods if methods is not None else ["cash", "cheque", "card", "transfer"],
    )
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
        distribution_id=distribution.id if distribution is not None else None,
        basket_id=basket.id if basket is not None else None,
    )
    session.add(entry)
    audit.record(
        session,
        group_id=group_id,
        actor=actor,
        action=kind,
        now=now,
        distribution_id=entry.distribution_id,
        member_id=member.id,
        target=method or "",
        after={"amount_cents": entry.amount_cents, "note": entry.note},
    )
    session.flush()
    return entry


def _day_lines(session: Session, distribution: Distribution, product_id: int) -> list[OrderLine]:
    """The day's lines of one product; refused while one of them is in a validated basket."""
    lines = session.scalars(
        select(OrderLine)
        .join(Basket)
        .where(
            Basket.distribution_id == distribution.id,
            OrderLine.product_id == product_id,
        )
    ).all()
    closed = sorted(line.basket.number for line in lines if line.basket.validated_at is not None)
    if closed:
        raise ServiceError(
            ngettext(
                "Basket %(numbers)s, already validated, holds this product: "
                "undo its validation first.",
                "Baskets %(numbers)s, already validated, hold this product: "
                "undo their validation first.",
                len(closed),
                numbers=", ".join(str(n) for n in closed),
            ),
            status=409,
        )
    return list(lines)


def zero_product(
    session: Session, distribution: Distribution, product_id: int, *, actor: User, now: datetime
) -> int:
    """A product not delivered: its lines of the day go to zero (kept, with who and when)."""
    cycle_rules.check(Action.CORRECT, distribution, now)
    lines = [ln for ln in _day_lines(session, distribution, product_id) if ln.quantity > 0]
    for line in lines:
        before = line.quantity
        line.ordered_quantity, line.quantity = line.quantity, Decimal(0)
        line.removed_at, line.removed_by_id = now, actor.id
        audit.record(
            session,
            group_id=distribution.group_id,
            actor=actor,
            action="not_delivered",
            now=now,
            distribution_id=distribution.id,
            member_id=line.basket.user_id,
            target=line.product.name,
            before={"quantity": before},
            after={"quantity": Decimal(0)},
        )
    session.flush()
    return len(lines)


def change_price(
    session: Session,
    distribution: Distribution,
    product_id: int,
    price_cents: int,
    *,
    actor: User,
    now: datetime,
) -> int:
    """A new price for one product on this day's lines (the catalogue is unchanged)."""
    cycle_rules.check(Action.CORRECT, distribution, now)
    if price_cents < 0:
        raise ServiceError(_("A price cannot be negative."), field="price")
    lines = _day_lines(session, distribution, product_id)
    for line in lines:
        if line.unit_price_cents == price_cents:
            continue
        audit.record(
            session,
            group_id=distribution.group_id,
            actor=actor,
            action="price_change",
            now=now,
            distribution_id=distribution.id,
            member_id=line.basket.user_id,
            target=line.product.name,
            before={"unit_price_cents": line.unit_price_cents},
            after={"unit_price_cents": price_cents},
        )
        line.unit_price_cents = price_cents
    session.flush()
    return len(lines)


def save_cash_up(
    session: Session,
    distribution: Distribution,
    counted: dict[str, int],
    *,
    actor: User,
    now: datetime,
) -> None:
    """Store what the coordinator counted in the till, per method (cash, cheque)."""
    if distribution.status(now).value in ("scheduled", "open", "closed", "cancelled"):
        raise ServiceError(cycle_rules.reason_text("not_started", distribution), status=409)
    before, after = {}, {}
    for method, attribute in COUNTED:
        if method in counted:
            if not 0 <= counted[method] <= 100 * 1_000_000:
                raise ServiceError(PAYMENT_REASONS["amount_out_of_range"](), field=method)
            before[method] = getattr(distribution, attribute)
            after[method] = counted[method]
            setattr(distribution, attribute, counted[method])
    if not after:
        raise ServiceError(_("Enter what you counted."), field="cash")
    audit.record(
        session,
        group_id=distribution.group_id,
        actor=actor,
        action="cash_up",
        now=now,
        distribution_id=distribution.id,
        before=before,
        after=after,
    )
    session.flush()
