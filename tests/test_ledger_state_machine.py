"""The books agree with themselves whatever a distribution day goes through.

A Hypothesis state machine drives one distribution day through the real services on the
real database (SQLite, or PostgreSQL when TEST_DATABASE_URL is set): members order while
orders are open; two tablets send pickups, weighings, payments (some invalid), voids and
replays; coordinators correct (payment, refund, not collected, price, not delivered,
basket edit), save a cash-up, validate one basket or the day (with a cash-up gap to
confirm), undo one basket or the day, cancel. The clock `now` is a parameter that moves
through open -> closed -> distributing -> distributed, a minute per step.

Each step is a request: committed when the service returns, rolled back when it refuses.
What the action table (`webapp.domain.cycle.ACTIONS`) refuses must be refused, and write
nothing. After every step:

1. each balance (`balance_cents`) is the sum of its ledger entries;
2. no ledger entry ever changes or disappears;
3. per validated basket: receipt total = amount due on the sheet = net ledger debit, and
   the payments on the sheet = net ledger payments, per method; a basket not validated
   has nothing confirmed in the ledger;
4. once the day is validated: per method, the cash-up recorded = net ledger payments of
   the distribution.
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from webapp.domain.cycle import Action, Status, refusal
from webapp.models import AuditEntry, Basket, Distribution, LedgerEntry, OrderLine, SheetEvent
from webapp.services import ServiceError
from webapp.services import validation as svc
from webapp.services.ledger import balance_cents
from webapp.services.orders import find_basket, set_quantities, summarise
from webapp.services.planning import cancel_distribution
from webapp.services.sheet import SheetClosed, record_events

from . import factories

METHODS = ["cash", "cheque", "card", "transfer"]  # the group's payment methods
DEVICES = ["tablet-A", "tablet-B"]
PICKUP_STATES = ["taken", "not_taken", "partial"]
MAX_AMOUNT = 1_000_000
# A longer hunt: LEDGER_MACHINE_EXAMPLES=500 LEDGER_MACHINE_STEPS=60 pytest tests/test_ledger_...
EXAMPLES = int(os.environ.get("LEDGER_MACHINE_EXAMPLES", "25"))
STEPS = int(os.environ.get("LEDGER_MACHINE_STEPS", "30"))

WHO = st.integers(0, 2)
AMOUNTS = st.one_of(st.integers(1, 20_000), st.sampled_from([0, -250, MAX_AMOUNT + 1]))
ORDERED_WEIGHTS = st.decimals(min_value=0, max_value=5, places=3)  # 0 removes the line
# What the tablet's scale sends: grams at most (a finer weight is refused, see the test
# at the end of this file), 0 included.
WEIGHTS = st.decimals(min_value=0, max_value=5, places=3)


def _valid_amount(amount) -> bool:
    return isinstance(amount, int) and not isinstance(amount, bool) and 0 < amount <= MAX_AMOUNT


class DayMachine(RuleBasedStateMachine):
    """One group, three members, three products (one weighed), one distribution day."""

    def __init__(self, app, session, now):
        super().__init__()
        self.app, self.session = app, session
        self.context = app.test_request_context()  # translated refusals need one
        self.context.push()
        s = session
        self.group = factories.group(s, now=now, payment_methods=METHODS)
        self.coordinator = factories.user(s, now=now, group=self.group, role="coordinator")
        self.members = [factories.user(s, now=now, group=self.group) for _ in range(3)]
        catalogue = factories.catalogue(s, group=self.group)
        self.products = [
            factories.product(s, catalogue=catalogue, name="Pain", price_cents=450),
            factories.product(s, catalogue=catalogue, name="Œufs", price_cents=335),
            factories.product(
                s, catalogue=catalogue, name="Comté", price_cents=1990, unit="kg", weighed=True
            ),
        ]
        self.d = factories.distribution(
            s, group=self.group, now=now, state="open", catalogues=[catalogue]
        )
        hour = timedelta(hours=1)
        self.phases = [  # open, closed, distributing, distributed
            now,
            self.d.orders_close_at + hour,
            self.d.starts_at + timedelta(minutes=10),
            self.d.ends_at + hour,
        ]
        self.phase = 0
        self.now = now
        self.seen_entries: dict[int, tuple] = {}
        self.sent: list[dict] = []  # every raw event a tablet sent, to replay
        self.stored: set[str] = set()  # ids of the events stored
        self.payment_ids: list[str] = []

    def teardown(self):
        self.session.rollback()
        self.context.pop()

    # ---- helpers ------------------------------------------------------------------

    def tick(self) -> None:
        """Every request happens a minute after the previous one."""
        self.now += timedelta(minutes=1)

    def status(self) -> Status:
        return self.d.status(self.now)

    def basket_of(self, member) -> Basket | None:
        return self.session.scalar(
            select(Basket)
            .where(Basket.distribution_id == self.d.id, Basket.user_id == member.id)
            .execution_options(populate_existing=True)
        )

    @staticmethod
    def closed(basket: Basket | None) -> bool:
        return basket is not None and basket.validated_at is not None

    def lines_by_basket(self) -> dict[int, dict[int, bool]]:
        """basket id -> {line id: weighed}, as the tablet's snapshot would list them."""
        rows = self.session.execute(
            select(Basket.id, OrderLine.id, OrderLine.product_id)
            .outerjoin(OrderLine, OrderLine.basket_id == Basket.id)
            .where(Basket.distribution_id == self.d.id)
        )
        weighed = {p.id: p.weighed for p in self.products}
        lines: dict[int, dict[int, bool]] = {}
        for basket_id, line_id, product_id in rows:
            lines.setdefault(basket_id, {})
            if line_id is not None:
                lines[basket_id][line_id] = weighed[product_id]
        return lines

    def snapshot(self) -> tuple:
        """What a refused request must leave as it was."""
        s, d = self.session, self.d
        return (
            s.scalar(
                select(func.count(LedgerEntry.id)).where(LedgerEntry.group_id == self.group.id)
            ),
            s.scalar(select(func.count(SheetEvent.id)).where(SheetEvent.distribution_id == d.id)),
            s.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.group_id == self.group.id)),
            tuple(
                tuple(r)
                for r in s.execute(
                    select(Basket.id, Basket.validated_at)
                    .where(Basket.distribution_id == d.id)
                    .order_by(Basket.id)
                )
            ),
            tuple(
                tuple(r)
                for r in s.execute(
                    select(OrderLine.id, OrderLine.quantity, OrderLine.unit_price_cents)
                    .join(Basket)
                    .where(Basket.distribution_id == d.id)
                    .order_by(OrderLine.id)
                )
            ),
            tuple(
                s.execute(
                    select(
                        Distribution.validated_at,
                        Distribution.cancelled_at,
                        Distribution.counted_cash_cents,
                        Distribution.counted_cheque_cents,
                    ).where(Distribution.id == d.id)
                ).one()
            ),
        )

    def attempt(self, call, refused, *, error=ServiceError):
        """Run one request: commit when it returns; when it raises, check that it was
        expected to refuse and wrote nothing. `refused` is why it must refuse (a reason
        code of the action table, or a description), or None/False if it must succeed."""
        before = self.snapshot()
        try:
            result = call()
        except error as raised:
            assert refused, f"refused though allowed: {raised!r} ({getattr(raised, 'message', '')})"
            during = self.snapshot()
            self.session.rollback()
            assert self.snapshot() == before, "a refused request left a change behind"
            assert during == before, f"written before refusing ({refused})"
            return raised
        assert not refused, f"went through though it must be refused: {refused}"
        self.session.commit()
        return result

    def quantities(self, data) -> dict[int, Decimal]:
        chosen = data.draw(
            st.lists(
                st.sampled_from(range(len(self.products))), min_size=1, max_size=3, unique=True
            )
        )
        wanted = {}
        for index in chosen:
            product = self.products[index]
            if product.weighed:
                wanted[product.id] = data.draw(ORDERED_WEIGHTS)
            else:
                wanted[product.id] = Decimal(data.draw(st.integers(0, 4)))
        return wanted

    # ---- members ------------------------------------------------------------------

    @initialize(data=st.data())
    def members_order(self, data):
        for member in self.members:
            if data.draw(st.booleans()):
                wanted = self.quantities(data)
                self.attempt(
                    lambda wanted=wanted, member=member: set_quantities(
                        self.session, self.d, wanted, actor=member, now=self.now
                    ),
                    None,
                )
        # Most runs start on the day itself, where most can happen; some before it.
        self.phase = data.draw(st.sampled_from([0, 1, 2, 2, 2, 3]))
        self.now = self.phases[self.phase]

    @rule(who=WHO, data=st.data())
    def member_changes_order(self, who, data):
        self.tick()
        member, wanted = self.members[who], self.quantities(data)
        self.attempt(
            lambda: set_quantities(self.session, self.d, wanted, actor=member, now=self.now),
            refusal(Action.ORDER, self.status()),
        )

    # ---- the clock ----------------------------------------------------------------

    @precondition(lambda self: self.phase < len(self.phases) - 1)
    @rule()
    def time_passes(self):
        self.phase += 1
        self.now = self.phases[self.phase]

    # ---- tablets ------------------------------------------------------------------

    def event_is_valid(self, raw: dict, lines: dict[int, dict[int, bool]]) -> bool:
        """What the server must accept (DESIGN.md's event checks), read again for replays:
        a line deleted since makes an old pickup unknown."""
        basket_lines = lines.get(raw["basket_id"])
        if basket_lines is None:
            return False
        if datetime.fromisoformat(raw["recorded_at"]) > self.now + timedelta(minutes=10):
            return False
        payload = raw["payload"]
        if raw["kind"] == "pickup" and payload.get("line_id") is not None:
            return payload["line_id"] in basket_lines
        if raw["kind"] == "payment":
            return payload["method"] in METHODS + ["balance"] and _valid_amount(
                payload["amount_cents"]
            )
        return True

    def draw_event(self, data, device: str, lines: dict[int, dict[int, bool]], batch: list):
        kinds = ["pickup", "line", "weigh", "payment", "void", "signature", "future"]
        if self.sent or batch:
            kinds.append("replay")
        kind = data.draw(st.sampled_from(kinds))
        if kind == "replay":
            return dict(data.draw(st.sampled_from(self.sent + batch)))
        basket_ids = sorted(lines) or [0]  # no basket yet: an unknown one
        basket_id = data.draw(st.sampled_from(basket_ids))
        basket_lines = lines.get(basket_id, {})
        ago = timedelta(minutes=data.draw(st.integers(0, 90)))
        raw = {
            "id": str(uuid.uuid4()),
            "device_id": device,
            "basket_id": basket_id,
            "recorded_at": (self.now - ago).isoformat(),
        }
        if kind == "future":  # a tablet whose clock is an hour ahead
            raw["recorded_at"] = (self.now + timedelta(hours=1)).isoformat()
            kind = "pickup"
        if kind in ("line", "weigh") and basket_lines:
            weighed = [line for line, w in basket_lines.items() if w]
            if kind == "weigh" and weighed:
                line_id = data.draw(st.sampled_from(sorted(weighed)))
                payload = {
                    "state": "taken",
                    "line_id": line_id,
                    "quantity": str(data.draw(WEIGHTS)),
                }
            else:
                line_id = data.draw(st.sampled_from(sorted(basket_lines)))
                payload = {"state": data.draw(st.sampled_from(PICKUP_STATES)), "line_id": line_id}
            raw.update(kind="pickup", payload=payload)
        elif kind == "payment":
            method = data.draw(st.sampled_from(METHODS + ["balance", "bitcoin"]))
            amount = data.draw(st.one_of(AMOUNTS, st.sampled_from(["12.50", True])))
            raw.update(kind="payment", payload={"method": method, "amount_cents": amount})
        elif kind == "void":
            targets = self.payment_ids or [str(uuid.uuid4())]
            raw.update(
                kind="payment_void", payload={"event_id": data.draw(st.sampled_from(targets))}
            )
        elif kind == "signature":
            raw.update(kind="signature", payload={"svg_path": "M0 0 L10 10"})
        else:
            raw.update(kind="pickup", payload={"state": data.draw(st.sampled_from(PICKUP_STATES))})
        return raw

    @rule(device=st.sampled_from(DEVICES), data=st.data())
    def tablet_syncs(self, device, data):
        self.tick()
        lines = self.lines_by_basket()
        batch: list[dict] = []
        for _ in range(data.draw(st.integers(1, 4))):
            batch.append(self.draw_event(data, device, lines, batch))
        state = self.status()
        closed_baskets = {
            b.id
            for b in self.session.scalars(select(Basket).where(Basket.distribution_id == self.d.id))
            if b.validated_at is not None
        }
        expected, seen = [], set()
        for raw in batch:
            if not self.event_is_valid(raw, lines):
                expected.append("rejected")
            elif raw["id"] in self.stored or raw["id"] in seen:
                expected.append("duplicate")
            else:
                expected.append("accepted")
                seen.add(raw["id"])
        result = self.attempt(
            lambda: record_events(
                self.session,
                self.d,
                self.group,
                device_id=device,
                raw_events=[dict(raw) for raw in batch],
                cursor=0,
                user=None,
                tablet_link_id=None,
                now=self.now,
            ),
            refusal(Action.RECORD_EVENTS, state),
            error=SheetClosed,
        )
        if isinstance(result, SheetClosed):
            return
        assert [r["status"] for r in result.results] == expected, (batch, result.results)
        assert all(e["device_id"] != device for e in result.events)
        for raw, status in zip(batch, expected, strict=True):
            if status != "accepted":
                continue
            self.stored.add(raw["id"])
            if raw["kind"] == "payment":
                self.payment_ids.append(raw["id"])
            late = self.session.scalar(select(SheetEvent.late).where(SheetEvent.id == raw["id"]))
            # after validation (of the day or of its basket) an event is kept, flagged late
            assert late == (state == Status.VALIDATED or raw["basket_id"] in closed_baskets)
        self.sent.extend(batch)

    # ---- coordinators' corrections ------------------------------------------------

    @rule(who=WHO, data=st.data())
    def coordinator_edits_basket(self, who, data):
        self.tick()
        member, wanted = self.members[who], self.quantities(data)
        basket = self.basket_of(member)
        self.attempt(
            lambda: set_quantities(
                self.session, self.d, wanted, actor=self.coordinator, now=self.now, member=member
            ),
            refusal(Action.CHANGE_BASKET, self.status(), basket_validated=self.closed(basket)),
        )

    @rule(
        who=WHO,
        method=st.sampled_from(METHODS + ["balance", "bitcoin"]),
        amount=AMOUNTS,
    )
    def coordinator_records_payment(self, who, method, amount):
        self.tick()
        basket = self.basket_of(self.members[who])
        if basket is None:
            return
        refused = refusal(Action.CORRECT, self.status(), basket_validated=self.closed(basket))
        if method == "bitcoin" or not _valid_amount(amount):
            refused = refused or "bad payment"
        self.attempt(
            lambda: svc.record_on_sheet(
                self.session,
                self.d,
                basket,
                kind="payment",
                payload={"method": method, "amount_cents": amount},
                actor=self.coordinator,
                now=self.now,
                methods=METHODS,
            ),
            refused,
        )

    @rule(who=WHO, method=st.sampled_from([*METHODS, None, "bitcoin"]), amount=AMOUNTS)
    def coordinator_refunds(self, who, method, amount):
        self.tick()
        member = self.members[who]
        basket = self.basket_of(member)
        if basket is None:
            return
        refused = refusal(Action.CORRECT, self.status(), basket_validated=self.closed(basket))
        if method == "bitcoin" or not _valid_amount(amount):
            refused = refused or "bad refund"
        self.attempt(
            lambda: svc.record_money(
                self.session,
                group_id=self.group.id,
                member=member,
                kind="refund",
                amount_cents=amount,
                method=method,
                note="",
                actor=self.coordinator,
                now=self.now,
                methods=METHODS,
                distribution=self.d,
                basket=basket,
            ),
            refused,
        )

    @rule(who=WHO)
    def coordinator_marks_not_collected(self, who):
        self.tick()
        basket = self.basket_of(self.members[who])
        if basket is None:
            return
        self.attempt(
            lambda: svc.record_on_sheet(
                self.session,
                self.d,
                basket,
                kind="pickup",
                payload={"state": "not_taken"},
                actor=self.coordinator,
                now=self.now,
                methods=METHODS,
            ),
            refusal(Action.CORRECT, self.status(), basket_validated=self.closed(basket)),
        )

    def product_in_closed_basket(self, product) -> bool:
        return bool(
            self.session.scalar(
                select(func.count(OrderLine.id))
                .join(Basket)
                .where(
                    Basket.distribution_id == self.d.id,
                    Basket.validated_at.is_not(None),
                    OrderLine.product_id == product.id,
                )
            )
        )

    @rule(which=st.integers(0, 2), price=st.one_of(st.integers(0, 3000), st.just(-1)))
    def coordinator_changes_price(self, which, price):
        self.tick()
        product = self.products[which]
        refused = refusal(Action.CORRECT, self.status())
        if price < 0:
            refused = refused or "negative price"
        if self.product_in_closed_basket(product):
            refused = refused or "held by a validated basket"
        self.attempt(
            lambda: svc.change_price(
                self.session, self.d, product.id, price, actor=self.coordinator, now=self.now
            ),
            refused,
        )

    @rule(which=st.integers(0, 2))
    def coordinator_marks_not_delivered(self, which):
        self.tick()
        product = self.products[which]
        refused = refusal(Action.CORRECT, self.status())
        if self.product_in_closed_basket(product):
            refused = refused or "held by a validated basket"
        self.attempt(
            lambda: svc.zero_product(
                self.session, self.d, product.id, actor=self.coordinator, now=self.now
            ),
            refused,
        )

    # ---- cash-up, validation, undo, cancellation ----------------------------------

    def recorded(self) -> dict[str, int]:
        return svc.cash_up(svc.review(self.session, self.d))

    @rule(
        cash_off=st.sampled_from([0, 0, -500, 120]),
        cheque_off=st.sampled_from([0, 0, 1000]),
    )
    def coordinator_counts_the_till(self, cash_off, cheque_off):
        self.tick()
        recorded = self.recorded()
        counted = {
            "cash": max(0, recorded.get("cash", 0) + cash_off),
            "cheque": max(0, recorded.get("cheque", 0) + cheque_off),
        }
        not_started = self.status() in (
            Status.SCHEDULED,
            Status.OPEN,
            Status.CLOSED,
            Status.CANCELLED,
        )
        self.attempt(
            lambda: svc.save_cash_up(
                self.session, self.d, counted, actor=self.coordinator, now=self.now
            ),
            "not started" if not_started else None,
        )

    @rule(who=WHO)
    def coordinator_validates_basket(self, who):
        self.tick()
        basket = self.basket_of(self.members[who])
        if basket is None:
            return
        refused = refusal(
            Action.VALIDATE_BASKET, self.status(), basket_validated=self.closed(basket)
        )
        if not refused and self.closes_the_day(basket):
            gaps = svc.cash_up_gaps(self.d, self.recorded())
            if gaps:  # the last basket closes the day: the gap is asked about first
                raised = self.attempt(
                    lambda: svc.validate(
                        self.session,
                        self.d,
                        actor=self.coordinator,
                        now=self.now,
                        basket_id=basket.id,
                    ),
                    "cash-up gap",
                    error=svc.CashUpGap,
                )
                assert raised.gaps == gaps
        self.attempt(
            lambda: svc.validate(
                self.session,
                self.d,
                actor=self.coordinator,
                now=self.now,
                basket_id=basket.id,
                confirm_gap=True,
            ),
            refused,
        )

    def closes_the_day(self, basket) -> bool:
        """No other basket of the validation page is left to validate."""
        return not [
            c
            for c in svc.review(self.session, self.d)
            if not c.validated and c.order.basket.id != basket.id
        ]

    @rule(confirm=st.booleans())
    def coordinator_validates_day(self, confirm):
        self.tick()
        refused = refusal(Action.VALIDATE_DAY, self.status())
        if not refused and not confirm:
            gaps = svc.cash_up_gaps(self.d, self.recorded())
            if gaps:
                raised = self.attempt(
                    lambda: svc.validate(
                        self.session, self.d, actor=self.coordinator, now=self.now
                    ),
                    "cash-up gap",
                    error=svc.CashUpGap,
                )
                assert raised.gaps == gaps
                confirm = True  # the coordinator reads the gap and confirms
        self.attempt(
            lambda: svc.validate(
                self.session, self.d, actor=self.coordinator, now=self.now, confirm_gap=confirm
            ),
            refused,
        )
        if not refused:
            assert self.d.validated_at is not None

    @rule(who=WHO)
    def coordinator_undoes_basket(self, who):
        self.tick()
        basket = self.basket_of(self.members[who])
        if basket is None:
            return
        refused = refusal(Action.UNDO, self.status(), basket_validated=self.closed(basket))
        if not self.closed(basket):
            refused = refused or "basket not validated"
        self.attempt(
            lambda: svc.undo(
                self.session, self.d, actor=self.coordinator, now=self.now, basket_id=basket.id
            ),
            refused,
        )

    @rule()
    def coordinator_undoes_day(self):
        self.tick()
        refused = refusal(Action.UNDO, self.status())
        if self.d.validated_at is None:
            refused = refused or "day not validated"
        self.attempt(
            lambda: svc.undo(self.session, self.d, actor=self.coordinator, now=self.now),
            refused,
        )

    @rule(really=st.integers(0, 9))
    def coordinator_cancels(self, really):
        """Rarely before the day (it ends everything); always tried once it took place."""
        self.tick()
        refused = refusal(Action.CANCEL, self.status())
        if not refused and really:
            return
        self.attempt(
            lambda: cancel_distribution(self.session, self.d, actor=self.coordinator, now=self.now),
            refused,
        )

    # ---- invariants ---------------------------------------------------------------

    @invariant()
    def books_agree(self):
        s, d = self.session, self.d
        entries = s.scalars(select(LedgerEntry).where(LedgerEntry.group_id == self.group.id)).all()

        # 2. no entry ever changes nor disappears
        ids = {e.id for e in entries}
        assert set(self.seen_entries) <= ids, "a ledger entry disappeared"
        for e in entries:
            row = (
                e.kind,
                e.amount_cents,
                e.payment_method,
                e.reverses_id,
                e.basket_id,
                e.user_id,
                e.distribution_id,
                e.pending,
            )
            assert self.seen_entries.setdefault(e.id, row) == row, f"entry {e.id} changed"

        # 1. each balance is the sum of its entries
        for person in [*self.members, self.coordinator]:
            total = sum(e.amount_cents for e in entries if e.user_id == person.id)
            assert balance_cents(s, group_id=self.group.id, user_id=person.id) == total

        # 3. per basket: receipt = due on the sheet = net ledger debit; sheet = ledger payments
        by_id = {e.id: e for e in entries}

        def net(basket_id, kind):
            """Net amount per method of `kind` entries (minus their reversals)."""
            totals: dict[str | None, int] = {}
            for e in entries:
                target = by_id[e.reverses_id] if e.kind == "reversal" else e
                if target.kind == kind and target.basket_id == basket_id:
                    totals[e.payment_method] = totals.get(e.payment_method, 0) + e.amount_cents
            return {m: v for m, v in totals.items() if v}

        checks = {c.order.basket.id: c for c in svc.review(s, d)}
        baskets = s.scalars(
            select(Basket)
            .where(Basket.distribution_id == d.id)
            .execution_options(populate_existing=True)
        ).all()
        for basket in baskets:
            check = checks.get(basket.id)
            debit = -sum(net(basket.id, "order").values())
            payments = net(basket.id, "payment")
            if basket.validated_at is None:
                assert debit == 0 and payments == {}, f"basket {basket.number} not validated"
                continue
            receipt = summarise(find_basket(s, d, basket.user)).total_cents
            due = check.due_cents if check else 0
            assert receipt == due == debit, (
                f"basket {basket.number}: receipt {receipt}, due {due}, ledger {debit}"
            )
            on_sheet = {m: v for m, v in (check.paid_by_method if check else {}).items()}
            on_sheet.pop("balance", None)  # paid from the balance: no ledger payment
            assert on_sheet == payments, (
                f"basket {basket.number}: sheet {on_sheet}, ledger {payments}"
            )

        # 4. the day validated: per method, the cash-up recorded = net ledger payments
        if d.validated_at is not None:
            assert all(b.validated_at is not None for b in baskets if b.id in checks)
            recorded = svc.cash_up(list(checks.values()))
            recorded.pop("balance", None)
            ledger: dict[str, int] = {}
            for basket in baskets:
                for method, cents in net(basket.id, "payment").items():
                    ledger[method] = ledger.get(method, 0) + cents
            assert {m: v for m, v in recorded.items() if v} == ledger, (recorded, ledger)
        if d.cancelled_at is not None:
            assert not any(e.distribution_id == d.id and e.kind != "refund" for e in entries)


def test_the_books_agree_after_every_step(app, session, now):
    run_state_machine_as_test(
        lambda: DayMachine(app, session, now),
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )


# ---- what the machine found (each the smallest failing example) ---------------------


def _weighed_day(session, now):
    """One member whose basket holds only 1 kg of a weighed cheese, on the day."""
    group = factories.group(session, now=now, payment_methods=["cash", "cheque"])
    coordinator = factories.user(session, now=now, group=group, role="coordinator")
    member = factories.user(session, now=now, group=group)
    catalogue = factories.catalogue(session, group=group)
    cheese = factories.product(
        session, catalogue=catalogue, name="Comté", price_cents=1990, unit="kg", weighed=True
    )
    d = factories.distribution(
        session, group=group, now=now, state="distributing", catalogues=[catalogue]
    )
    basket = factories.order(
        session, distribution=d, user=member, now=now, lines=[(cheese, Decimal(1))]
    )
    return group, coordinator, member, d, basket


def _sync(session, d, group, basket, events, now):
    raws = [
        {
            "id": str(uuid.uuid4()),
            "device_id": "tablet-A",
            "kind": kind,
            "basket_id": basket.id,
            "recorded_at": now.isoformat(),
            "payload": payload,
        }
        for kind, payload in events
    ]
    record_events(
        session,
        d,
        group,
        device_id="tablet-A",
        raw_events=raws,
        cursor=0,
        user=None,
        tablet_link_id=None,
        now=now,
    )
    session.commit()


def _ledger_of(session, d, kind) -> dict:
    """Net ledger amounts of `kind` entries (minus their reversals) per method."""
    entries = session.scalars(select(LedgerEntry).where(LedgerEntry.distribution_id == d.id))
    entries = {e.id: e for e in entries}
    totals: dict = {}
    for e in entries.values():
        target = entries[e.reverses_id] if e.kind == "reversal" else e
        if target.kind == kind:
            totals[e.payment_method] = totals.get(e.payment_method, 0) + e.amount_cents
    return {m: v for m, v in totals.items() if v}


def test_a_basket_weighed_at_zero_keeps_its_payment_in_the_cash_up(app, session, now):
    group, coordinator, member, d, basket = _weighed_day(session, now)
    line_id = basket.lines[0].id
    with app.test_request_context():
        _sync(
            session,
            d,
            group,
            basket,
            [
                ("pickup", {"state": "taken", "line_id": line_id, "quantity": "0"}),
                ("payment", {"method": "cash", "amount_cents": 500}),
            ],
            now,
        )
        later = now + timedelta(minutes=1)
        svc.validate(session, d, actor=coordinator, now=later, basket_id=basket.id)
        session.commit()
        assert _ledger_of(session, d, "payment") == {"cash": 500}
        assert svc.cash_up(svc.review(session, d)) == {"cash": 500}


def test_a_weight_finer_than_a_gram_is_refused_by_the_sync(app, session, now):
    """Order lines keep three decimals: a weight of 1.2345 kg would be charged 24,57 and
    stored on the receipt as 1.235 kg, a cent apart; the sync refuses it instead."""
    group, coordinator, member, d, basket = _weighed_day(session, now)
    line_id = basket.lines[0].id
    with app.test_request_context():
        raw = {
            "id": str(uuid.uuid4()),
            "device_id": "tablet-A",
            "kind": "pickup",
            "basket_id": basket.id,
            "recorded_at": now.isoformat(),
            "payload": {"state": "taken", "line_id": line_id, "quantity": "1.2345"},
        }
        result = record_events(
            session,
            d,
            group,
            device_id="tablet-A",
            raw_events=[
                raw,
                {
                    **raw,
                    "id": str(uuid.uuid4()),
                    "payload": {**raw["payload"], "quantity": "1.2340"},
                },
            ],
            cursor=0,
            user=None,
            tablet_link_id=None,
            now=now,
        )
        assert [r["status"] for r in result.results] == ["rejected", "accepted"]
        assert result.results[0]["reason"] == "bad_quantity"


def test_the_last_basket_validated_alone_leaves_no_basket_behind(app, session, now):
    group, coordinator, member, d, basket = _weighed_day(session, now)
    other = factories.user(session, now=now, group=group)
    bread = factories.product(session, catalogue=d.catalogues[0], name="Pain", price_cents=450)
    second = factories.order(session, distribution=d, user=other, now=now, lines=[(bread, 1)])
    cheese_id = basket.lines[0].product_id
    with app.test_request_context():
        _sync(
            session, d, group, basket, [("payment", {"method": "cash", "amount_cents": 500})], now
        )
        svc.zero_product(session, d, cheese_id, actor=coordinator, now=now)  # not delivered
        session.commit()
        later = now + timedelta(minutes=1)
        svc.validate(session, d, actor=coordinator, now=later, basket_id=second.id)
        session.commit()
        if d.validated_at is not None:  # the whole day: every basket is in the ledger
            assert svc.cash_up(svc.review(session, d)) == _ledger_of(session, d, "payment")


def test_a_late_payment_for_a_basket_the_day_left_behind_reaches_the_ledger(app, session, now):
    group, coordinator, member, d, basket = _weighed_day(session, now)
    other = factories.user(session, now=now, group=group)
    bread = factories.product(session, catalogue=d.catalogues[0], name="Pain", price_cents=450)
    factories.order(session, distribution=d, user=other, now=now, lines=[(bread, 1)])
    cheese_id = basket.lines[0].product_id
    with app.test_request_context():
        svc.zero_product(session, d, cheese_id, actor=coordinator, now=now)  # not delivered
        session.commit()
        svc.validate(session, d, actor=coordinator, now=now + timedelta(minutes=1))
        session.commit()
        later = now + timedelta(minutes=2)
        _sync(
            session, d, group, basket, [("payment", {"method": "cash", "amount_cents": 500})], later
        )
        assert svc.cash_up(svc.review(session, d)) == _ledger_of(session, d, "payment")
