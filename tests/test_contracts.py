"""AMAP contracts through the services: sign-up, shares, materialised contract lines in
the day's baskets, reports and tablet, absences, the schedule and the ledger."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from webapp.models import Basket, LedgerEntry, OrderLine, OutboxMessage
from webapp.models.contracts import ContractAbsence, ContractPayment, Subscription
from webapp.services import ServiceError, reports, validation
from webapp.services import contracts as svc
from webapp.services.ledger import balance_cents
from webapp.services.orders import set_quantities, shop_products
from webapp.services.sheet import snapshot

from . import factories
from .conftest import refusal
from .contract_world import item_of, world
from .factories import fresh

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


def test_the_summary_page_counts_contract_shares_and_orders_apart(
    w, app, client, auth, session, now
):
    sub = sign(session, w, now, w["alice"])
    day = w["days"][0]
    with app.test_request_context():
        svc.validate_subscription(session, sub, actor=w["coordinator"], now=now)
        set_quantities(session, day, {w["cheese"].id: Decimal(2)}, actor=w["alice"], now=now)
    session.commit()
    auth.login(w["coordinator"].email)
    page = client.get(f"/distributions/{day.id}/summary").get_data(as_text=True)
    assert "contrats 1 · commandes 0" in page
    rows = client.get(f"/distributions/{day.id}/summary?format=csv").get_data(as_text=True)
    share = next(r for r in rows.splitlines() if "Panier de légumes" in r).split(";")
    assert share[-2:] == ["1", "0"]  # contracts, orders


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
        with pytest.raises(ServiceError, match="pas de panier"):
            svc.declare_absence(session, sub, d[0], member=w["bob"], actor=w["bob"], now=now)
        # The deadline: a day before the close of orders of the first date.
        with pytest.raises(ServiceError, match="étaient à déclarer"):
            svc.declare_absence(
                session,
                sub,
                d[0],
                member=w["alice"],
                actor=w["alice"],
                now=d[0].orders_close_at - timedelta(hours=1),
            )
        svc.declare_absence(session, sub, d[2], member=w["alice"], actor=w["alice"], now=now)
        with pytest.raises(ServiceError, match="déjà déclarée"):
            svc.declare_absence(session, sub, d[2], member=w["alice"], actor=w["alice"], now=now)
        svc.declare_absence(session, sub, d[4], member=w["alice"], actor=w["alice"], now=now)
        session.commit()
        with pytest.raises(ServiceError, match="permet 2 absences"):
            svc.declare_absence(session, sub, d[6], member=w["alice"], actor=w["alice"], now=now)
    session.rollback()
    assert session.scalar(select(func.count(ContractAbsence.id))) == 2


def test_payments_received_and_cashed_add_up_in_the_balance(w, app, session, now):
    sub = sign(session, w, now, w["alice"])
    with app.test_request_context():
        svc.validate_subscription(session, sub, actor=w["coordinator"], now=now)
        first, second, third = sub.payments
        with pytest.raises(ServiceError, match="numéro du chèque"):
            svc.receive_payment(session, first, actor=w["coordinator"], now=now)
        with pytest.raises(ServiceError, match="d'abord le paiement"):
            svc.cash_payment(session, first, actor=w["coordinator"], now=now)
        for number, payment in zip(("1001", "1002", "1003"), sub.payments, strict=True):
            svc.receive_payment(
                session, payment, cheque_number=number, actor=w["coordinator"], now=now
            )
        svc.cash_payment(session, first, actor=w["coordinator"], now=now)
        with pytest.raises(ServiceError, match="déjà reçu"):
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
    with app.test_request_context(), pytest.raises(ServiceError, match="Les paiements font"):
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
        "after_window": "ont fermé",
        "before_window": "ouvrent le",
        "archived": "archivé",
        "few_dates": "entre 4 et 10",
        "twice": "Déjà inscrit",
        "no_share": "au moins une part",
        "bad_schedule": "échéanciers",
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
        with pytest.raises(ServiceError, match="ne peut pas changer"):
            svc.update_contract(
                session, contract, {"billing": "per_distribution"}, actor=w["coordinator"], now=now
            )
        with pytest.raises(ServiceError, match="ne peut pas changer"):
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
        with pytest.raises(ServiceError, match="fin de sa saison"):
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
        with pytest.raises(ServiceError, match="qui prend"):
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


# ---- through the web --------------------------------------------------------------


def _login(auth, user):
    assert auth.login(user.email).status_code in (302, 303)


def test_web_coordinator_creates_a_contract_and_bad_input_is_refused(
    app, client, auth, post, session, now
):
    with app.test_request_context():
        w = world(session, now)
    other = factories.catalogue(session, group=w["group"], name="Pains AMAP")
    bread = factories.product(session, catalogue=other, name="Pain", price_cents=400)
    _login(auth, w["coordinator"])
    page = client.get(f"/contracts/new?catalogue={other.id}").get_data(as_text=True)
    assert "Pain" in page and 'name="distributions"' in page
    form = {
        "catalogue_id": other.id,
        "name": "Pain 2027",
        "distributions": [d.id for d in w["days"]],
        "signup_opens_at": "2026-11-20T10:00",
        "signup_closes_at": "2026-11-26T10:00",
        "min_distributions": "2",
        "max_absences": "1",
        "instalments": "1,2",
        "methods": ["cheque"],
        "billing": "upfront",
        "absence_policy": "skip",
    }
    refused = post("/contracts/new", {**form})  # no share offered
    assert refused.status_code == 400
    assert "Proposez au moins une part" in refused.get_data(as_text=True)
    made = post("/contracts/new", {**form, f"q-{bread.id}": "1"})
    assert made.status_code == 303
    fresh(session)
    assert other.kind == "constant"


def test_web_member_signs_up_coordinator_validates_and_receives_payments(
    app, client, auth, post, session, now
):
    with app.test_request_context():
        w = world(session, now)
    contract = w["contract"]
    _login(auth, w["alice"])
    assert "Légumes 2027" in client.get("/contracts/").get_data(as_text=True)
    page = client.get(f"/contracts/{contract.id}/signup").get_data(as_text=True)
    assert "Panier de légumes" in page
    share, eggs = item_of(contract, w["share"]), item_of(contract, w["eggs"])
    answer = post(
        f"/contracts/{contract.id}/signup",
        {
            f"n-{share}": "1",
            f"n-{eggs}": "1",
            "dates": "10",
            "instalments": "3",
            "method": "cheque",
            "partner": w["bob"].id,
            "share_mode": "alternate",
        },
    )
    assert answer.status_code == 303
    sub = session.scalar(select(Subscription).where(Subscription.user_id == w["alice"].id))
    mine = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "87,00" in mine and "Bob Blanc" in mine  # her part, and who shares it
    assert client.get(f"/contracts/{contract.id}").status_code == 403  # coordinators' page
    doc = client.get(f"/contracts/subscriptions/{sub.id}/document.pdf")
    assert doc.status_code == 200 and doc.data.startswith(b"%PDF")
    auth.logout()
    _login(auth, w["chloe"])  # not hers
    assert client.get(f"/contracts/subscriptions/{sub.id}").status_code == 404
    auth.logout()
    _login(auth, w["coordinator"])
    assert post(f"/contracts/subscriptions/{sub.id}/validate").status_code == 303
    fresh(session)
    assert sub.state == "validated"
    first = sub.payments[0]
    status, page = refusal(
        client,
        post(
            f"/contracts/payments/{first.id}/receive",
            {},
            headers={"Referer": f"/contracts/{contract.id}"},
        ),
    )
    assert status == 400 and "numéro du chèque" in page
    assert (
        post(f"/contracts/payments/{first.id}/receive", {"cheque_number": "0001234"}).status_code
        == 303
    )
    assert post(f"/contracts/payments/{first.id}/cash").status_code == 303
    overview = client.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert "chèque n° 0001234" in overview and "encaissé" in overview
    payments_csv = client.get(f"/contracts/{contract.id}/export.csv?list=payments").get_data(
        as_text=True
    )
    assert "0001234" in payments_csv and "29,00" in payments_csv
    shares_csv = client.get(f"/contracts/{contract.id}/export.csv?list=shares").get_data(
        as_text=True
    )
    assert shares_csv.count("\n") == 11  # a header and the 10 dates
    subscribers_csv = client.get(f"/contracts/{contract.id}/export.csv?list=subscribers").get_data(
        as_text=True
    )
    assert "174,00" in subscribers_csv and "29,00" in subscribers_csv
    fresh(session)
    assert balance(session, w, w["alice"]) == -8700 + first.amount_cents


def test_web_absence_and_its_refusal(app, client, auth, post, session, now):
    with app.test_request_context():
        w = world(session, now)
    sub = sign(session, w, now, w["alice"])
    with app.test_request_context():
        svc.validate_subscription(session, sub, actor=w["coordinator"], now=now)
    session.commit()
    _login(auth, w["alice"])
    page = f"/contracts/subscriptions/{sub.id}"
    assert "Je serai absent" in client.get(page).get_data(as_text=True)
    for day in w["days"][1:3]:
        assert post(f"{page}/absences", {"distribution_id": day.id}).status_code == 303
    # The contract allows two absences.
    answer = post(
        f"{page}/absences", {"distribution_id": w["days"][3].id}, headers={"Referer": page}
    )
    status, text = refusal(client, answer)
    assert status == 409 and "permet 2 absences" in text
    fresh(session)
    assert sorted(a.distribution_id for a in sub.absences) == [d.id for d in w["days"][1:3]]
    auth.logout()
    _login(auth, w["coordinator"])
    absences_csv = client.get(f"/contracts/{w['contract'].id}/export.csv?list=absences").get_data(
        as_text=True
    )
    assert "Alice Aubry" in absences_csv


def test_web_sign_up_after_the_window_is_refused(app, client, auth, post, session, now):
    with app.test_request_context():
        w = world(session, now)
        svc.update_contract(
            session,
            w["contract"],
            {
                "signup_opens_at": now - timedelta(days=5),
                "signup_closes_at": now - timedelta(days=1),
            },
            actor=w["coordinator"],
            now=now,
        )
    session.commit()
    _login(auth, w["alice"])
    share = item_of(w["contract"], w["share"])
    answer = post(
        f"/contracts/{w['contract'].id}/signup",
        {f"n-{share}": "1", "dates": "10", "instalments": "1", "method": "cheque"},
        headers={"Referer": "/contracts/"},
    )
    status, text = refusal(client, answer)
    assert status == 409 and "inscriptions ont fermé" in text.lower()
    assert session.scalar(select(func.count(Subscription.id))) == 0
