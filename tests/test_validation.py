"""Validation: the tablet's records become confirmed ledger entries; undo appends reversals."""

import re
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from webapp.models import LedgerEntry, SheetEvent
from webapp.services import ServiceError
from webapp.services import validation as svc
from webapp.services.ledger import balance_cents

from . import factories
from .conftest import refusal


@pytest.fixture
def day(session, now):
    group = factories.group(session, now=now, payment_methods=["cash", "cheque"])
    coordinator = factories.user(
        session, now=now, group=group, role="coordinator", email="c@example.test"
    )
    ada = factories.user(session, now=now, group=group, email="ada@example.test", first_name="Ada")
    bob = factories.user(
        session,
        now=now,
        group=group,
        email="bob@example.test",
        first_name="Bob",
        last_name="Émile",
    )
    catalogue = factories.catalogue(session, group=group)
    bread = factories.product(session, catalogue=catalogue, name="Pain", price_cents=450)
    d = factories.distribution(
        session, group=group, now=now, state="distributed", catalogues=[catalogue]
    )
    b1 = factories.order(session, distribution=d, user=ada, now=now, lines=[(bread, 2)])  # 9.00
    b2 = factories.order(session, distribution=d, user=bob, now=now, lines=[(bread, 1)])  # 4.50
    return dict(
        group=group, coordinator=coordinator, ada=ada, bob=bob, d=d, b1=b1, b2=b2, bread=bread
    )


def tablet(session, day, basket, kind, payload, now):
    session.add(
        SheetEvent(
            id=str(uuid.uuid4()),
            distribution_id=day["d"].id,
            basket_id=basket.id,
            device_id="tab",
            kind=kind,
            payload=payload,
            recorded_at=now,
            received_at=now,
        )
    )
    session.commit()


def balances(session, day):
    return (
        balance_cents(session, group_id=day["group"].id, user_id=day["ada"].id),
        balance_cents(session, group_id=day["group"].id, user_id=day["bob"].id),
    )


def test_validation_appends_debits_and_payments_and_keeps_gaps(app, session, now, day):
    tablet(session, day, day["b1"], "payment", {"method": "cash", "amount_cents": 900}, now)
    tablet(
        session, day, day["b2"], "payment", {"method": "cheque", "amount_cents": 400}, now
    )  # 50 c short
    with app.test_request_context():
        assert svc.validate(session, day["d"], actor=day["coordinator"], now=now) == 2
    session.commit()
    assert balances(session, day) == (0, -50)
    assert day["d"].validated_at == now
    with app.test_request_context(), pytest.raises(ServiceError, match="déjà validée"):
        svc.validate(session, day["d"], actor=day["coordinator"], now=now)


def test_undo_appends_reversals_and_deletes_nothing(app, session, now, day):
    tablet(session, day, day["b1"], "payment", {"method": "cash", "amount_cents": 1000}, now)
    with app.test_request_context():
        svc.validate(session, day["d"], actor=day["coordinator"], now=now)
        session.commit()
        count = session.scalar(select(func.count(LedgerEntry.id)))
        assert svc.undo(session, day["d"], actor=day["coordinator"], now=now) == count
        session.commit()
        assert balances(session, day) == (0, 0)
        assert session.scalar(select(func.count(LedgerEntry.id))) == 2 * count
        with pytest.raises(ServiceError, match="pas validée"):
            svc.undo(session, day["d"], actor=day["coordinator"], now=now)
        svc.validate(session, day["d"], actor=day["coordinator"], now=now)
        session.commit()
    assert balances(session, day) == (100, -450)


def test_validating_before_the_start_is_refused(app, session, now, day):
    day["d"].starts_at, day["d"].ends_at = now + timedelta(hours=1), now + timedelta(hours=3)
    day["d"].orders_close_at = now - timedelta(hours=1)
    session.commit()
    with app.test_request_context(), pytest.raises(ServiceError, match="une fois commencée"):
        svc.validate(session, day["d"], actor=day["coordinator"], now=now)
    assert session.scalar(select(func.count(LedgerEntry.id))) == 0


def test_one_basket_then_the_rest(app, session, now, day):
    with app.test_request_context():
        svc.validate(session, day["d"], actor=day["coordinator"], now=now, basket_id=day["b1"].id)
        session.commit()
        assert day["d"].validated_at is None and balances(session, day) == (-900, 0)
        with pytest.raises(ServiceError, match="Ce panier est déjà validé"):
            svc.validate(
                session, day["d"], actor=day["coordinator"], now=now, basket_id=day["b1"].id
            )
        session.rollback()
        svc.validate(session, day["d"], actor=day["coordinator"], now=now)
        session.commit()
    assert day["d"].validated_at is not None and balances(session, day) == (-900, -450)


def test_voided_and_balance_payments_do_not_count(app, session, now, day):
    pid = str(uuid.uuid4())
    session.add(
        SheetEvent(
            id=pid,
            distribution_id=day["d"].id,
            basket_id=day["b1"].id,
            device_id="tab",
            kind="payment",
            payload={"method": "cash", "amount_cents": 900},
            recorded_at=now,
            received_at=now,
        )
    )
    tablet(session, day, day["b1"], "payment_void", {"event_id": pid}, now)
    tablet(session, day, day["b2"], "payment", {"method": "balance", "amount_cents": 450}, now)
    with app.test_request_context():
        svc.validate(session, day["d"], actor=day["coordinator"], now=now)
    session.commit()
    assert balances(session, day) == (-900, -450)


# ---- web ---------------------------------------------------------------------------


def test_validation_page_lists_baskets_with_gaps_and_filters(client, auth, session, now, day):
    tablet(session, day, day["b1"], "payment", {"method": "cash", "amount_cents": 900}, now)
    tablet(session, day, day["b1"], "pickup", {"state": "taken"}, now)
    auth.login("c@example.test")
    page = client.get(f"/distributions/{day['d'].id}/validation").get_data(as_text=True)
    assert "Ada" in page and "Bob" in page and "-4,50\xa0€" in page
    to_check = client.get(f"/distributions/{day['d'].id}/validation?filter=check").get_data(
        as_text=True
    )
    assert "Bob" in to_check and "Ada" not in to_check
    assert "Trop-perçu" not in page
    # a double payment on the tablet: the basket is overpaid, said so, and to check
    tablet(session, day, day["b1"], "payment", {"method": "cash", "amount_cents": 900}, now)
    to_check = client.get(f"/distributions/{day['d'].id}/validation?filter=check").get_data(
        as_text=True
    )
    assert "Ada" in to_check and "9,00\xa0€" in to_check and "Trop-perçu" in to_check


def test_fix_an_unpaid_basket_then_validate(client, auth, post, session, now, day):
    auth.login("c@example.test")
    base = f"/distributions/{day['d'].id}/validation"
    assert (
        post(
            f"{base}/baskets/{day['b2'].id}/payment", {"amount": "4,50", "method": "cash"}
        ).status_code
        == 303
    )
    assert post(f"{base}/validate").status_code == 303
    factories.fresh(session)
    assert balances(session, day) == (-900, 0)
    # the day is locked: corrections are refused with a clear message
    refused = post(f"{base}/baskets/{day['b1'].id}/payment", {"amount": "9", "method": "cash"})
    status, page = refusal(client, refused)
    assert status == 409 and "sa validation" in page
    assert refusal(client, post(f"{base}/validate"))[0] == 409
    assert post(f"{base}/undo").status_code == 303
    assert refusal(client, post(f"{base}/undo"))[0] == 409


def test_the_validation_page_says_when_a_day_can_be_validated(client, auth, session, now, day):
    auth.login("c@example.test")
    coming = factories.distribution(
        session, group=day["group"], now=now, state="closed", catalogues=[]
    )
    html = client.get(f"/distributions/{coming.id}/validation").get_data(as_text=True)
    assert 'id="not-yet"' in html and "pourra être validée dès le début" in html
    assert "Valider la distribution" not in html
    coming.cancelled_at = now
    session.commit()
    html = client.get(f"/distributions/{coming.id}/validation").get_data(as_text=True)
    assert "Une distribution annulée ne se valide pas." in html
    html = client.get(f"/distributions/{day['d'].id}/validation").get_data(as_text=True)
    assert 'id="not-yet"' not in html and "Valider la distribution" in html


def test_the_history_of_changes_reads_in_words(client, auth, post, session, now, day):
    from webapp.services import audit

    for before, after in (
        ({"active": True, "stock": None}, {"active": False, "stock": Decimal(3)}),
        ({"orders_close_at": "2026-12-04T17:00:00+00:00"}, {"orders_close_at": "2026-12-05"}),
    ):
        audit.record(
            session,
            group_id=day["group"].id,
            actor=day["coordinator"],
            action="edit_offer",
            now=now,
            distribution_id=day["d"].id,
            target="Pain",
            before=before,
            after=after,
        )
    session.commit()
    auth.login("c@example.test")
    html = client.get(f"/distributions/{day['d'].id}/validation").get_data(as_text=True)
    assert "Disponible oui · Stock illimité → Disponible non · Stock 3" in html
    assert "Fermeture des commandes 4 déc. 2026" in html
    assert "→ Fermeture des commandes 5 déc." in html
    for raw in ("T17:00", "None", "True", "orders_close_at"):
        assert raw not in html
    post(
        "/members/balances",
        {"user_id": day["ada"].id, "kind": "payment", "amount": "5", "method": "cheque"},
    )
    for action, after in (
        ("contract_absence", {"given_to": ""}),
        ("contract_absence_withdraw", None),
    ):
        audit.record(
            session,
            group_id=day["group"].id,
            actor=day["coordinator"],
            action=action,
            now=now,
            member_id=day["ada"].id,
            target="Légumes",
            before={"given_to": "Alice"} if after is None else None,
            after=after,
        )
    session.commit()
    history = client.get(f"/members/{day['ada'].id}/history").get_data(as_text=True)
    assert "Paiement reçu</strong> · Chèque" in history
    assert "Absence déclarée</strong> · Légumes" in history
    assert "Absence retirée</strong> · Légumes" in history and "Panier donné à Alice" in history
    assert "given_to" not in history and "contract_" not in history


@pytest.mark.parametrize("amount", ["1,234", "-5", "abc", ""])
def test_bad_amounts_are_refused_and_nothing_written(client, auth, post, session, day, amount):
    auth.login("c@example.test")
    response = post(
        f"/distributions/{day['d'].id}/validation/baskets/{day['b1'].id}/payment",
        {"amount": amount, "method": "cash"},
    )
    status, page = refusal(client, response)
    said = "ne peut pas être négatif" if amount == "-5" else "12,50"  # what is wrong with it
    assert status == 400 and said in page
    factories.fresh(session)
    assert session.scalar(select(func.count()).select_from(SheetEvent)) == 0


def test_product_not_delivered_and_price_change(client, auth, post, session, day):
    auth.login("c@example.test")
    base = f"/distributions/{day['d'].id}/validation/products/{day['bread'].id}"
    assert post(f"{base}/price", {"price": "4"}).status_code == 303
    factories.fresh(session)
    checks = svc.review(session, day["d"])
    assert sorted(c.due_cents for c in checks) == [400, 800]
    assert post(f"{base}/not-delivered").status_code == 303
    factories.fresh(session)
    assert svc.review(session, day["d"]) == []


def test_refund_and_payment_outside_distributions(client, auth, post, session, day):
    auth.login("c@example.test")
    assert (
        post(
            "/members/balances",
            {"user_id": day["ada"].id, "kind": "payment", "amount": "20", "method": "cheque"},
        ).status_code
        == 303
    )
    assert (
        post(
            f"/distributions/{day['d'].id}/validation/baskets/{day['b1'].id}/refund",
            {"amount": "2"},
        ).status_code
        == 303
    )
    factories.fresh(session)
    assert balances(session, day)[0] == 1800
    page = client.get("/members/balances").get_data(as_text=True)
    assert "18,00\xa0€" in page
    assert "text/csv" in client.get("/members/balances?format=csv").content_type


def test_a_payment_is_recorded_from_the_members_account_page(client, auth, post, session, day):
    auth.login("c@example.test")
    ada = day["ada"]
    account = f"/members/{ada.id}/history"
    page = client.get(account).get_data(as_text=True)
    assert f'name="user_id" value="{ada.id}"' in page and "Paiement reçu" in page
    response = post(
        "/members/balances",
        {"user_id": ada.id, "kind": "payment", "amount": "12,50", "method": "cheque"},
    )
    assert response.status_code == 303 and response.headers["Location"].endswith(account)
    page = client.get(account).get_data(as_text=True)
    assert "Enregistré." in page and "12,50\xa0€" in page
    factories.fresh(session)
    assert balances(session, day)[0] == 1250
    # a refused amount says why, and records nothing
    refused = post("/members/balances", {"user_id": ada.id, "kind": "payment", "amount": "-3"})
    assert refused.status_code == 303 and refused.headers["X-Refused"] == "400"
    factories.fresh(session)
    assert balances(session, day)[0] == 1250


def test_money_outside_distributions_says_what_is_wrong_and_never_comes_from_the_balance(
    client, auth, post, session, day
):
    auth.login("c@example.test")
    ada = day["ada"]
    day["group"].payment_methods = ["cash", "balance"]
    session.commit()
    account = f"/members/{ada.id}/history"
    page = client.get(account).get_data(as_text=True)
    assert "Solde\xa0:" in page or "Solde :" in page
    assert 'value="balance"' not in page and 'value="cash"' in page
    form = {"user_id": ada.id, "kind": "payment", "amount": "5", "method": "balance"}
    assert post("/members/balances", form).headers["X-Refused"] == "400"
    # nor a method the group does not take
    assert post("/members/balances", {**form, "method": "card"}).headers["X-Refused"] == "400"
    negative = post("/members/balances", {**form, "amount": "-5", "method": "cash"})
    assert negative.headers["X-Refused"] == "400"
    assert "ne peut pas être négatif" in client.get(account).get_data(as_text=True)
    factories.fresh(session)
    assert balances(session, day)[0] == 0


@pytest.mark.parametrize(
    ("q", "found"),
    [
        ("ADA", ["ada"]),  # first name, any case
        ("émile", ["bob"]),  # accented capitals too (Émile)
        ("EMILE bob", ["bob"]),  # whatever the accents
        ("ada example", ["ada"]),  # every word, each anywhere
        ("ada bob", []),
        ("bob@exa", ["bob"]),  # e-mail
        ("example", ["ada", "bob", "coordinator"]),
        ("%", []),  # typed, not a wildcard
        ("_", []),
        ("zzz", []),
        ("a" * 500, []),  # cut to 100 characters, no error
    ],
)
def test_balances_search_by_name_or_email(client, auth, day, q, found):
    auth.login("c@example.test")
    response = client.get("/members/balances", query_string={"q": q})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    rows = re.findall(r'<tr><td><a href="/members/(\d+)/history"', html)
    assert sorted(rows) == sorted(str(day[who].id) for who in found)
    assert f"{len(found)} membre" in html and "correspond" in html


def test_member_sees_history_with_running_balance(client, auth, session, now, day, app):
    tablet(session, day, day["b1"], "payment", {"method": "cash", "amount_cents": 1000}, now)
    with app.test_request_context():
        svc.validate(session, day["d"], actor=day["coordinator"], now=now)
    session.commit()
    auth.login("ada@example.test")
    page = client.get("/account/history").get_data(as_text=True)
    assert "-9,00\xa0€" in page and "10,00\xa0€" in page and "1,00\xa0€" in page


def test_members_cannot_validate(client, auth, post, day):
    auth.login("ada@example.test")
    assert client.get(f"/distributions/{day['d'].id}/validation").status_code == 403
    assert post(f"/distributions/{day['d'].id}/validation/validate").status_code == 403


# ---- invariants --------------------------------------------------------------------

ACTIONS = st.lists(
    st.one_of(
        st.tuples(
            st.just("pay"),
            st.integers(0, 1),
            st.integers(1, 2000),
            st.sampled_from(["cash", "cheque"]),
        ),
        st.tuples(st.just("refund"), st.integers(0, 1), st.integers(1, 500), st.just("cash")),
        st.tuples(st.just("validate"), st.integers(0, 1), st.just(0), st.just("")),
        st.tuples(st.just("undo"), st.integers(0, 1), st.just(0), st.just("")),
        st.tuples(st.just("qty"), st.integers(0, 1), st.integers(0, 4), st.just("")),
    ),
    max_size=12,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(actions=ACTIONS)
def test_balances_always_equal_the_sum_of_their_entries(app, session, now, day, actions):
    """Random sequences of payments, refunds, quantity changes, validations and undos."""
    from webapp.models import OrderLine

    baskets, people = [day["b1"], day["b2"]], [day["ada"], day["bob"]]
    seen_entries: dict[int, tuple] = {}
    with app.test_request_context():
        for kind, who, amount, method in actions:
            try:
                if kind == "pay":
                    svc.record_on_sheet(
                        session,
                        day["d"],
                        baskets[who],
                        kind="payment",
                        payload={"method": method, "amount_cents": amount},
                        actor=day["coordinator"],
                        now=now,
                    )
                elif kind == "refund":
                    svc.record_money(
                        session,
                        group_id=day["group"].id,
                        member=people[who],
                        kind="refund",
                        amount_cents=amount,
                        method=method,
                        note="",
                        actor=day["coordinator"],
                        now=now,
                    )
                elif kind == "validate":
                    svc.validate(session, day["d"], actor=day["coordinator"], now=now)
                elif kind == "undo":
                    svc.undo(session, day["d"], actor=day["coordinator"], now=now)
                elif day["d"].validated_at is None:
                    line = session.scalar(
                        select(OrderLine).where(OrderLine.basket_id == baskets[who].id)
                    )
                    line.quantity = Decimal(amount)
                session.commit()
            except ServiceError:
                session.rollback()
            entries = session.scalars(select(LedgerEntry)).all()
            for e in entries:  # no entry ever changes
                snapshot = (e.kind, e.amount_cents, e.user_id, e.reverses_id)
                assert seen_entries.setdefault(e.id, snapshot) == snapshot
            for person in people:
                total = sum(e.amount_cents for e in entries if e.user_id == person.id)
                assert balance_cents(session, group_id=day["group"].id, user_id=person.id) == total
            if day["d"].validated_at is not None:
                # validated: the ledger's debits equal the day's dues, to the cent
                dues = {c.order.user.id: c.due_cents for c in svc.review(session, day["d"])}
                for person in people:
                    debit = sum(
                        e.amount_cents
                        for e in entries
                        if e.user_id == person.id
                        and e.distribution_id == day["d"].id
                        and e.kind == "order"
                        and e.id not in {x.reverses_id for x in entries}
                    )
                    assert -debit == dues.get(person.id, 0)
                # the product summary sent to the producer adds up to the same cents
                from webapp.services.reports import day_orders, product_summary

                orders = day_orders(session, day["d"])
                summary = product_summary(orders, list(day["d"].catalogues))
                assert sum(s.total_cents for s in summary) == sum(dues.values())
                assert sum(o.total_cents for o in orders) == sum(dues.values())
    # leave the database as the next example expects
    session.rollback()
