"""AMAP contracts through the services: sign-up, shares, materialised contract lines in
the day's baskets, reports and tablet, absences, the schedule and the ledger."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from webapp.models import Basket, LedgerEntry, OrderLine, OutboxMessage
from webapp.models.contracts import ContractAbsence, ContractPayment, Subscription
from webapp.services import ServiceError
from webapp.services import contracts as svc
from webapp.services import reports, validation
from webapp.services.ledger import balance_cents
from webapp.services.orders import set_quantities, shop_products
from webapp.services.sheet import snapshot

from .contract_world import item_of, world

SEASON = 10 * (1500 + 6 * 40)  # 10 dates of a vegetable share and 6 eggs: 174,00 €


@pytest.fixture
def w(app, session, now):
    with app.test_request_context():
        yield world(session, now)


def sign(
    session,
    w,
    now,
    member,
    *,
    partner=None,
    mode="alone",
    dates=10,
    instalments=3,
    method="cheque",
    eggs=1,
):
    counts = {item_of(w["contract"], w["share"]): 1, item_of(w["contract"], w["eggs"]): eggs}
    sub = svc.sign_up(
        session,
        w["contract"],
        member,
        svc.SignUp(
            counts=counts,
            dates=dates,
            instalments=instalments,
            method=method,
            partner=partner,
            share_mode=mode,
        ),
        actor=member,
        now=now,
    )
    session.commit()
    return sub


def contract_lines(session, distribution, user):
    return session.scalars(
        select(OrderLine)
        .join(Basket)
        .where(
            Basket.distribution_id == distribution.id,
            Basket.user_id == user.id,
            OrderLine.subscription_id.is_not(None),
        )
    ).all()


def balance(session, w, user):
    return balance_cents(session, group_id=w["group"].id, user_id=user.id)


def test_contract_creation_makes_a_contract_catalogue_in_every_date(w, session):
    assert w["amap"].kind == "constant"
    assert all(w["amap"] in d.catalogues for d in w["days"])
    assert [i.unit_price_cents for i in w["contract"].items] == [1500, 40]


def test_sign_up_shows_total_and_schedule_adding_up(w, session, now):
    sub = sign(session, w, now, w["alice"])
    assert sub.state == "pending"
    assert svc.totals(sub) == {w["alice"].id: SEASON}
    amounts = [p.amount_cents for p in sub.payments]
    assert amounts == [5800, 5800, 5800] and sum(amounts) == SEASON
    assert [p.due_on for p in sub.payments] == [w["days"][i].starts_at.date() for i in (0, 3, 6)]
    # Nothing in the baskets nor the ledger before a coordinator validates.
    assert session.scalar(select(func.count(OrderLine.id))) == 0
    assert session.scalar(select(func.count(LedgerEntry.id))) == 0


def test_validation_puts_contract_lines_in_each_date_and_the_total_in_the_ledger(
    w, app, session, now
):
    sub = sign(session, w, now, w["alice"])
    with app.test_request_context():
        svc.validate_subscription(session, sub, actor=w["coordinator"], now=now)
    session.commit()
    for d in w["days"]:
        lines = contract_lines(session, d, w["alice"])
        assert sorted((ln.product_id, ln.quantity) for ln in lines) == [
            (w["share"].id, Decimal(1)),
            (w["eggs"].id, Decimal(6)),
        ]
        # Paid upfront: the day charges nothing for them (never charged twice).
        assert {ln.unit_price_cents for ln in lines} == {0}
    assert balance(session, w, w["alice"]) == -SEASON
    told = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "contract_validated"))
    assert [m.user_id for m in told] == [w["alice"].id]


def test_contract_lines_show_in_reports_apart_from_the_shop_and_on_the_tablet(w, app, session, now):
    sub = sign(session, w, now, w["alice"])
    day = w["days"][0]
    with app.test_request_context():
        svc.validate_subscription(session, sub, actor=w["coordinator"], now=now)
        set_quantities(session, day, {w["cheese"].id: Decimal(2)}, actor=w["alice"], now=now)
    session.commit()
    (order,) = reports.day_orders(session, day)
    assert sorted((ln.product.name, ln.contract) for ln in order.lines) == [
        ("Panier de légumes", True),
        ("Tomme", False),
        ("Œuf", True),
    ]
    assert order.total_cents == 900  # the shop's cheese; the contract is paid upfront
    summaries = {s.catalogue.name: s for s in reports.product_summary([order], day.catalogues)}
    share_row = next(r for r in summaries["Légumes AMAP"].rows if r.product.name.startswith("Pan"))
    assert (share_row.contract_quantity, share_row.shop_quantity) == (Decimal(1), Decimal(0))
    (cheese_row,) = summaries["Fromages"].rows
    assert (cheese_row.contract_quantity, cheese_row.shop_quantity) == (0, Decimal(2))
    with app.test_request_context():
        tablet = snapshot(session, day, w["group"], now=now)
    (basket,) = tablet["baskets"]
    assert sorted((ln["product"], ln["contract"]) for ln in basket["lines"]) == [
        ("Panier de légumes", True),
        ("Tomme", False),
        ("Œuf", True),
    ]
    assert basket["due_cents"] == 900


def test_the_shop_neither_lists_nor_changes_contract_products(w, app, session, now):
    day = w["days"][0]
    assert [s.catalogue.name for s in shop_products(session, day)] == ["Fromages"]
    with app.test_request_context(), pytest.raises(ServiceError):
        set_quantities(session, day, {w["share"].id: Decimal(1)}, actor=w["alice"], now=now)


def test_a_shared_subscription_alternates_the_dates_and_the_money(w, app, session, now):
    sub = sign(session, w, now, w["alice"], partner=w["bob"], mode="alternate")
    half = SEASON // 2
    assert svc.totals(sub) == {w["alice"].id: half, w["bob"].id: half}
    by_payer = {}
    for p in sub.payments:
        by_payer[p.payer_id] = by_payer.get(p.payer_id, 0) + p.amount_cents
    assert by_payer == {w["alice"].id: half, w["bob"].id: half}
    with app.test_request_context():
        svc.validate_subscription(session, sub, actor=w["coordinator"], now=now)
    session.commit()
    first, second = w["days"][:2]
    assert contract_lines(session, first, w["alice"]) and not contract_lines(
        session, first, w["bob"]
    )
    assert contract_lines(session, second, w["bob"]) and not contract_lines(
        session, second, w["alice"]
    )
    assert balance(session, w, w["alice"]) == balance(session, w, w["bob"]) == -half


def test_a_split_subscription_halves_each_date(w, app, session, now):
    sub = sign(session, w, now, w["alice"], partner=w["bob"], mode="split")
    with app.test_request_context():
        svc.validate_subscription(session, sub, actor=w["coordinator"], now=now)
    session.commit()
    for who in ("alice", "bob"):
        lines = contract_lines(session, w["days"][0], w[who])
        assert sorted(ln.quantity for ln in lines) == [Decimal("0.5"), Decimal(3)]
    assert balance(session, w, w["alice"]) + balance(session, w, w["bob"]) == -SEASON


def test_an_absence_drops_the_basket_the_quantity_and_the_charge(w, app, session, now):
    sub = sign(session, w, now, w["alice"])
    day = w["days"][2]
    with app.test_request_context():
        svc.validate_subscription(session, sub, actor=w["coordinator"], now=now)
        svc.declare_absence(session, sub, day, member=w["alice"], actor=w["alice"], now=now)
    session.commit()
    assert contract_lines(session, day, w["alice"]) == []
    assert reports.day_orders(session, day) == []  # not prepared: no basket on the sheet
    assert balance(session, w, w["alice"]) == -SEASON + 1740
    assert len(contract_lines(session, w["days"][3], w["alice"])) == 2


def test_absence_refusals(w, app, session, now):
    sub = sign(session, w, now, w["alice"], partner=w["bob"], mode="alternate")
    with app.test_request_context():
        svc.validate_subscription(session, sub, actor=w["coordinator"], now=now)
        session.commit()
        d = w["days"]
        # Bob takes the 2nd, 4th... dates: the 1st is not his.
        with pytest.raises(ServiceError, match="no basket"):
            svc.declare_absence(session, sub, d[0], member=w["bob"], actor=w["bob"], now=now)
        # The deadline: a day before the close of orders of the first date.
        with pytest.raises(ServiceError, match="declared by"):
            svc.declare_absence(
                session,
                sub,
                d[0],
                member=w["alice"],
                actor=w["alice"],
                now=d[0].orders_close_at - timedelta(hours=1),
            )
        svc.declare_absence(session, sub, d[2], member=w["alice"], actor=w["alice"], now=now)
        with pytest.raises(ServiceError, match="already"):
            svc.declare_absence(session, sub, d[2], member=w["alice"], actor=w["alice"], now=now)
        svc.declare_absence(session, sub, d[4], member=w["alice"], actor=w["alice"], now=now)
        session.commit()
        with pytest.raises(ServiceError, match="allows 2 absences"):
            svc.declare_absence(session, sub, d[6], member=w["alice"], actor=w["alice"], now=now)
    session.rollback()
    assert session.scalar(select(func.count(ContractAbsence.id))) == 2


def test_payments_received_and_cashed_add_up_in_the_balance(w, app, session, now):
    sub = sign(session, w, now, w["alice"])
    with app.test_request_context():
        svc.validate_subscription(session, sub, actor=w["coordinator"], now=now)
        first, second, third = sub.payments
        with pytest.raises(ServiceError, match="number"):
            svc.receive_payment(session, first, actor=w["coordinator"], now=now)
        with pytest.raises(ServiceError, match="received first"):
            svc.cash_payment(session, first, actor=w["coordinator"], now=now)
        for number, payment in zip(("1001", "1002", "1003"), sub.payments, strict=True):
            svc.receive_payment(
                session, payment, cheque_number=number, actor=w["coordinator"], now=now
            )
        svc.cash_payment(session, first, actor=w["coordinator"], now=now)
        with pytest.raises(ServiceError, match="already received"):
            svc.receive_payment(session, first, cheque_number="x", actor=w["coordinator"], now=now)
    session.commit()
    assert balance(session, w, w["alice"]) == 0
    assert first.cashed_at == now and second.cashed_at is None
    cheques = session.scalars(select(LedgerEntry.note).where(LedgerEntry.kind == "payment"))
    assert any("1002" in note for note in cheques)


def test_a_schedule_that_does_not_add_up_is_refused_and_writes_nothing(w, app, session, now):
    sub = sign(session, w, now, w["alice"])
    before = [(p.amount_cents, p.due_on) for p in sub.payments]
    uid = w["alice"].id
    with app.test_request_context(), pytest.raises(ServiceError, match="add up"):
        svc.set_schedule(
            session,
            sub,
            [
                svc.Instalment(uid, date(2027, 1, 1), 10000, "cheque"),
                svc.Instalment(uid, date(2027, 2, 1), 5000, "cheque"),
            ],
            actor=w["coordinator"],
            now=now,
        )
    session.rollback()
    session.expire_all()
    assert [(p.amount_cents, p.due_on) for p in sub.payments] == before
    with app.test_request_context():
        svc.set_schedule(
            session,
            sub,
            [
                svc.Instalment(uid, date(2027, 1, 1), 10000, "cheque"),
                svc.Instalment(uid, date(2027, 2, 1), SEASON - 10000, "transfer"),
            ],
            actor=w["coordinator"],
            now=now,
        )
    session.commit()
    assert [p.amount_cents for p in sub.payments] == [10000, SEASON - 10000]


@pytest.mark.parametrize(
    "case",
    ["after_window", "before_window", "archived", "few_dates", "twice", "no_share", "bad_schedule"],
)
def test_sign_up_refusals(w, app, session, now, case):
    contract, alice = w["contract"], w["alice"]
    when, dates, instalments, counts = now, 10, 3, {item_of(contract, w["share"]): 1}
    match = {
        "after_window": "closed",
        "before_window": "open on",
        "archived": "archived",
        "few_dates": "between 4 and 10",
        "twice": "Already",
        "no_share": "at least one share",
        "bad_schedule": "schedules",
    }[case]
    if case == "after_window":
        when = contract.signup_closes_at
    elif case == "before_window":
        when = contract.signup_opens_at - timedelta(seconds=1)
    elif case == "archived":
        with app.test_request_context():
            svc.archive_contract(session, contract, actor=w["coordinator"], now=now)
    elif case == "few_dates":
        dates = 3
    elif case == "twice":
        sign(session, w, now, w["bob"], partner=alice, mode="split")
    elif case == "no_share":
        counts = {}
    elif case == "bad_schedule":
        instalments = 4
    session.commit()
    with app.test_request_context(), pytest.raises(ServiceError, match=match):
        svc.sign_up(
            session,
            contract,
            alice,
            svc.SignUp(counts=counts, dates=dates, instalments=instalments, method="cheque"),
            actor=alice,
            now=when,
        )
    session.rollback()
    assert (
        session.scalar(select(func.count(Subscription.id)).where(Subscription.user_id == alice.id))
        == 0
    )


def test_a_contract_with_subscribers_keeps_its_signed_terms(w, app, session, now):
    sign(session, w, now, w["alice"])
    contract = w["contract"]
    with app.test_request_context():
        with pytest.raises(ServiceError, match="cannot change"):
            svc.update_contract(
                session, contract, {"billing": "per_distribution"}, actor=w["coordinator"], now=now
            )
        with pytest.raises(ServiceError, match="cannot change"):
            svc.update_contract(
                session, contract, {"max_absences": 1}, actor=w["coordinator"], now=now
            )
        svc.update_contract(
            session,
            contract,
            {"name": "Légumes 2027 (été)", "max_absences": 3},
            actor=w["coordinator"],
            now=now,
        )
    session.commit()
    assert (contract.name, contract.max_absences, contract.billing) == (
        "Légumes 2027 (été)",
        3,
        "upfront",
    )


def test_cancel_a_pending_subscription_only(w, app, session, now):
    sub = sign(session, w, now, w["alice"])
    with app.test_request_context():
        svc.cancel_subscription(session, sub, actor=w["alice"], now=now)
    session.commit()
    assert sub.state == "cancelled"
    assert session.scalar(select(func.count(ContractPayment.id))) == 0
    again = sign(session, w, now, w["alice"])  # a new sign-up after a withdrawal
    with app.test_request_context():
        svc.validate_subscription(session, again, actor=w["coordinator"], now=now)
        with pytest.raises(ServiceError, match="end of its season"):
            svc.cancel_subscription(session, again, actor=w["alice"], now=now)


def test_per_distribution_billing_charges_each_validated_day_and_not_the_absent_one(
    app, session, now
):
    with app.test_request_context():
        w = world(session, now, billing="per_distribution")
    sub = sign(session, w, now, w["alice"], eggs=0)
    first, second = w["days"][:2]
    with app.test_request_context():
        svc.validate_subscription(session, sub, actor=w["coordinator"], now=now)
        svc.declare_absence(session, sub, second, member=w["alice"], actor=w["alice"], now=now)
    session.commit()
    assert balance(session, w, w["alice"]) == 0  # nothing at sign-up
    assert {ln.unit_price_cents for ln in contract_lines(session, first, w["alice"])} == {1500}
    later = first.starts_at + timedelta(hours=1)
    with app.test_request_context():
        validation.validate(session, first, actor=w["coordinator"], now=later, confirm_gap=True)
        (check,) = validation.review(session, first)
    session.commit()
    # receipt = sheet due = ledger debit
    assert check.order.total_cents == check.due_cents == 1500
    assert balance(session, w, w["alice"]) == -1500
    assert contract_lines(session, second, w["alice"]) == []


def test_give_policy_keeps_the_basket_and_names_who_takes_it(app, session, now):
    with app.test_request_context():
        w = world(session, now, policy="give")
    sub = sign(session, w, now, w["alice"])
    day = w["days"][1]
    with app.test_request_context():
        svc.validate_subscription(session, sub, actor=w["coordinator"], now=now)
        with pytest.raises(ServiceError, match="who takes"):
            svc.declare_absence(session, sub, day, member=w["alice"], actor=w["alice"], now=now)
        svc.declare_absence(
            session,
            sub,
            day,
            member=w["alice"],
            given_to="Panier solidaire",
            actor=w["alice"],
            now=now,
        )
    session.commit()
    assert len(contract_lines(session, day, w["alice"])) == 2
    assert balance(session, w, w["alice"]) == -SEASON
