"""The books agree with the contracts whatever a season goes through (Hypothesis).

Members sign up (alone, alternate weeks or split), coordinators validate subscriptions,
members declare absences, instalments are received, time passes a few days per step and
coordinators validate distribution days. Billing upfront or per distribution, drawn per
example. After every step:

1. each member's balance is what the contracts say: minus what they were charged (the
   season's part at validation upfront, less the absent dates; or each validated day's
   contract basket per distribution) plus the instalments received;
2. per validated basket: receipt total = amount due on the sheet = net ledger debit;
3. per date, the contract quantities in the baskets are the validated subscriptions'
   quantities of the people present;
4. each subscription's schedule adds up to each person's part, to the cent.

A refusal writes nothing.
"""

from __future__ import annotations

import os
from datetime import timedelta
from decimal import Decimal

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from webapp.domain.cycle import Status
from webapp.models import Basket, LedgerEntry, OrderLine
from webapp.models.contracts import Subscription
from webapp.services import ServiceError, validation
from webapp.services import contracts as svc
from webapp.services.ledger import balance_cents
from webapp.services.orders import summarise

from .contract_world import item_of, world

EXAMPLES = int(os.environ.get("CONTRACT_MACHINE_EXAMPLES", "8"))
STEPS = int(os.environ.get("CONTRACT_MACHINE_STEPS", "20"))
PEOPLE = ["alice", "bob", "chloe"]


class SeasonMachine(RuleBasedStateMachine):
    def __init__(self, app, session, now):
        super().__init__()
        self.app, self.session, self.start = app, session, now
        self.ctx = app.test_request_context()
        self.ctx.push()

    def teardown(self):
        self.session.rollback()
        self.ctx.pop()

    @initialize(
        billing=st.sampled_from(["upfront", "per_distribution"]),
        mode=st.sampled_from(["alternate", "split"]),
        dates=st.integers(4, 10),
        validated=st.booleans(),
    )
    def season(self, billing, mode, dates, validated):
        """A season with two subscriptions already signed, one shared, maybe validated."""
        self.now = self.start
        self.w = world(self.session, self.now, billing=billing)
        self.billing = billing
        self.member_signs_up("alice", None, mode, 10, 3, 1)
        self.member_signs_up("bob", "chloe", mode, dates, 10, 0)
        if validated:
            for sub in self.subscriptions():
                svc.validate_subscription(
                    self.session, sub, actor=self.w["coordinator"], now=self.now
                )
            self.session.commit()

    def attempt(self, call) -> None:
        entries = self.session.scalar(select(func.count(LedgerEntry.id)))
        try:
            call()
        except ServiceError:
            self.session.rollback()
            assert self.session.scalar(select(func.count(LedgerEntry.id))) == entries
        else:
            self.session.commit()
        self.session.expire_all()

    def subscriptions(self, state=None) -> list[Subscription]:
        query = (
            select(Subscription)
            .where(Subscription.contract_id == self.w["contract"].id)
            .order_by(Subscription.id)
        )
        if state:
            query = query.where(Subscription.state == state)
        return list(self.session.scalars(query))

    @rule(
        who=st.sampled_from(PEOPLE),
        partner=st.sampled_from([None, *PEOPLE]),
        mode=st.sampled_from(["alternate", "split"]),
        dates=st.integers(3, 10),  # 3 is below the contract's minimum: refused
        instalments=st.sampled_from([1, 3, 10]),
        eggs=st.integers(0, 2),
    )
    def member_signs_up(self, who, partner, mode, dates, instalments, eggs):
        contract = self.w["contract"]
        counts = {item_of(contract, self.w["share"]): 1, item_of(contract, self.w["eggs"]): eggs}
        choice = svc.SignUp(
            counts=counts,
            dates=dates,
            instalments=instalments,
            method="cheque",
            partner=self.w[partner] if partner else None,
            share_mode=mode if partner else "alone",
        )
        member = self.w[who]
        self.attempt(
            lambda: svc.sign_up(self.session, contract, member, choice, actor=member, now=self.now)
        )

    @rule(data=st.data())
    def coordinator_validates_subscription(self, data):
        pending = self.subscriptions("pending")
        if pending:
            sub = data.draw(st.sampled_from(pending))
            self.attempt(
                lambda: svc.validate_subscription(
                    self.session, sub, actor=self.w["coordinator"], now=self.now
                )
            )

    @rule(data=st.data(), day=st.integers(0, 9), who=st.sampled_from(PEOPLE))
    def member_declares_absence(self, data, day, who):
        subs = self.subscriptions()
        if subs:
            sub = data.draw(st.sampled_from(subs))
            member = self.w[who]
            self.attempt(
                lambda: svc.declare_absence(
                    self.session,
                    sub,
                    self.w["days"][day],
                    member=member,
                    actor=member,
                    now=self.now,
                )
            )

    @rule(data=st.data())
    def coordinator_receives_an_instalment(self, data):
        due = [p for s in self.subscriptions() for p in s.payments if p.received_at is None]
        if due:
            payment = data.draw(st.sampled_from(due))
            self.attempt(
                lambda: svc.receive_payment(
                    self.session,
                    payment,
                    cheque_number="42",
                    actor=self.w["coordinator"],
                    now=self.now,
                )
            )

    @rule(days=st.integers(1, 5))
    def time_passes(self, days):
        self.now += timedelta(days=days)

    @rule()
    def coordinator_validates_the_days_gone(self):
        for day in self.w["days"]:
            if day.status(self.now) in (Status.DISTRIBUTING, Status.DISTRIBUTED):
                self.attempt(
                    lambda d=day: validation.validate(
                        self.session,
                        d,
                        actor=self.w["coordinator"],
                        now=self.now,
                        confirm_gap=True,
                    )
                )

    # ---- the model of what the books should say -------------------------------------

    def expected(self) -> tuple[dict[int, int], dict[tuple[int, int], Decimal]]:
        """Balance per person and contract quantity per (date, product) from the terms."""
        balances: dict[int, int] = {}
        quantities: dict[tuple[int, int], Decimal] = {}
        for sub in self.subscriptions():
            for p in sub.payments:
                if p.received_at is not None:
                    balances[p.payer_id] = balances.get(p.payer_id, 0) + p.amount_cents
            if sub.state != "validated":
                continue
            absent = {(a.distribution_id, a.user_id) for a in sub.absences}
            for day, people in svc.per_date(sub):
                for uid, factor in people.items():
                    if (day.id, uid) in absent:
                        continue
                    for line in sub.lines:
                        key = (day.id, line.product_id)
                        quantities[key] = quantities.get(key, 0) + line.quantity * factor
                    charged = self.billing == "upfront" or day.validated_at is not None
                    if charged:
                        value = svc.date_value(sub, factor)
                        balances[uid] = balances.get(uid, 0) - value
        return balances, quantities

    @invariant()
    def books_agree(self):
        if not hasattr(self, "w"):
            return
        balances, quantities = self.expected()
        group = self.w["group"]
        for who in PEOPLE:
            uid = self.w[who].id
            assert balance_cents(self.session, group_id=group.id, user_id=uid) == balances.get(
                uid, 0
            ), who
        found = dict(
            ((d, p), q)
            for d, p, q in self.session.execute(
                select(Basket.distribution_id, OrderLine.product_id, func.sum(OrderLine.quantity))
                .join(Basket)
                .where(
                    OrderLine.subscription_id.is_not(None),
                    Basket.distribution_id.in_([d.id for d in self.w["days"]]),
                )
                .group_by(Basket.distribution_id, OrderLine.product_id)
            )
        )
        assert {k: Decimal(v) for k, v in found.items() if v} == {
            k: v for k, v in quantities.items() if v
        }
        for sub in self.subscriptions():
            if sub.state == "cancelled":
                continue
            for uid, total in svc.totals(sub).items():
                assert sum(p.amount_cents for p in sub.payments if p.payer_id == uid) == total

    @invariant()
    def validated_baskets_agree(self):
        if not hasattr(self, "w"):
            return
        for day in self.w["days"]:
            if day.validated_at is None:
                continue
            for check in validation.review(self.session, day):
                basket = self.session.get(Basket, check.order.basket.id)
                debit = self.session.scalar(
                    select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0)).where(
                        LedgerEntry.basket_id == basket.id, LedgerEntry.kind.in_(("order",))
                    )
                )
                assert summarise(basket).total_cents == check.due_cents == -debit


def test_the_books_agree_with_the_contracts(app, session, now):
    run_state_machine_as_test(
        lambda: SeasonMachine(app, session, now),
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
