"""The books stay right on every path (issue found by trying the product as a coordinator):
each test below reproduces one path that used to leave the ledger wrong or fail half-way."""

import threading
import uuid

from sqlalchemy import func, select

from webapp.models import AuditEntry, FormSubmission, LedgerEntry, SheetEvent
from webapp.services import validation as svc

from . import factories
from .conftest import csrf_token, refusal
from .test_api_sheet import event, send
from .test_validation import balances, day  # noqa: F401  (fixture)


def _ledger(session, **where):
    factories.fresh(session)
    query = select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0))
    for name, value in where.items():
        query = query.where(getattr(LedgerEntry, name) == value)
    return session.scalar(query)


def _payments_in_ledger(session, d) -> int:
    """Net payments of a distribution in the ledger (payments minus their reversals)."""
    factories.fresh(session)
    rows = session.execute(
        select(LedgerEntry.kind, LedgerEntry.amount_cents, LedgerEntry.reverses_id).where(
            LedgerEntry.distribution_id == d.id
        )
    ).all()
    payment_ids = set(
        session.scalars(
            select(LedgerEntry.id).where(
                LedgerEntry.distribution_id == d.id, LedgerEntry.kind == "payment"
            )
        )
    )
    total = sum(a for k, a, _ in rows if k == "payment")
    total += sum(a for k, a, r in rows if k == "reversal" and r in payment_ids)
    return total


def test_after_one_basket_is_validated_its_tablet_payment_is_late_and_not_counted(
    app, client, auth, post, session, now, day
):
    auth.login("c@example.test")
    base = f"/distributions/{day['d'].id}/validation"
    assert post(f"{base}/validate", {"basket_id": day["b1"].id}).status_code == 303
    # a tablet that was offline sends a payment for the validated basket
    late = event(day["b1"].id, payload={"method": "cash", "amount_cents": 2000})
    result = send(client, day["d"], [late]).get_json()["results"][0]
    assert result["status"] == "accepted"
    factories.fresh(session)
    assert session.scalar(select(SheetEvent.late).where(SheetEvent.id == late["id"])) is True
    # it is listed for review, and the cash-up agrees with the ledger
    page = client.get(base).get_data(as_text=True)
    assert "Enregistré après la validation" in page
    with app.test_request_context():
        checks = svc.review(session, day["d"])
    ada = next(c for c in checks if c.order.basket.id == day["b1"].id)
    assert ada.paid_cents == 0 and ada.late
    assert svc.cash_up(checks).get("cash", 0) == _payments_in_ledger(session, day["d"]) == 0
    # once the basket's validation is undone, the late payment counts
    assert post(f"{base}/undo", {"basket_id": day["b1"].id}).status_code == 303
    with app.test_request_context():
        factories.fresh(session)
        ada = next(c for c in svc.review(session, day["d"]) if c.order.basket.id == day["b1"].id)
    assert ada.paid_cents == 2000 and not ada.validated


def test_a_validated_basket_refuses_corrections_and_edits(client, auth, post, session, day):
    auth.login("c@example.test")
    d, b1 = day["d"], day["b1"]
    base = f"/distributions/{d.id}/validation"
    assert post(f"{base}/validate", {"basket_id": b1.id}).status_code == 303
    before = _ledger(session)
    attempts = [
        (f"{base}/baskets/{b1.id}/payment", {"amount": "5", "method": "cash"}),
        (f"{base}/baskets/{b1.id}/refund", {"amount": "5"}),
        (f"{base}/baskets/{b1.id}/not-collected", {}),
        (f"{base}/products/{day['bread'].id}/price", {"price": "1"}),
        (f"{base}/products/{day['bread'].id}/not-delivered", {}),
        (f"/distributions/{d.id}/baskets/{day['ada'].id}", {f"q-{day['bread'].id}": "5"}),
    ]
    for path, data in attempts:
        status, page = refusal(client, post(path, data))
        assert status == 409, path
        assert "validation" in page, path
    assert _ledger(session) == before
    factories.fresh(session)
    assert [line.quantity for line in session.get(type(b1), b1.id).lines] == [2]
    assert session.scalar(select(func.count()).select_from(SheetEvent)) == 0


def test_a_cancelled_distribution_refuses_events_edits_and_validation(
    client, auth, post, session, now
):
    group = factories.group(session, now=now)
    factories.user(session, now=now, group=group, role="coordinator", email="c@example.test")
    ada = factories.user(session, now=now, group=group)
    catalogue = factories.catalogue(session, group=group)
    bread = factories.product(session, catalogue=catalogue, price_cents=450)
    d = factories.distribution(
        session, group=group, now=now, state="closed", catalogues=[catalogue]
    )
    basket = factories.order(session, distribution=d, user=ada, now=now, lines=[(bread, 1)])
    auth.login("c@example.test")
    assert post(f"/distributions/{d.id}/cancel").status_code == 302
    response = send(client, d, [event(basket.id, payload={"method": "cash", "amount_cents": 450})])
    assert response.status_code == 409 and response.get_json()["error"] == "cancelled"
    edit = post(f"/distributions/{d.id}/baskets/{ada.id}", {f"q-{bread.id}": "3"})
    assert refusal(client, edit)[0] == 409
    validate = post(f"/distributions/{d.id}/validation/validate")
    status, page = refusal(client, validate)
    assert status == 409 and "annulée" in page
    assert _ledger(session) == 0
    assert refusal(client, post(f"/distributions/{d.id}/cancel"))[0] == 409


def test_a_zero_correction_payment_is_refused_and_validation_still_works(
    client, auth, post, session, day
):
    auth.login("c@example.test")
    base = f"/distributions/{day['d'].id}/validation"
    for amount in ("0", "0,00", "20000"):
        status, page = refusal(
            client,
            post(f"{base}/baskets/{day['b1'].id}/payment", {"amount": amount, "method": "cash"}),
        )
        assert status == 400 and "supérieur à zéro" in page
    status, _ = refusal(
        client, post(f"{base}/baskets/{day['b1'].id}/payment", {"amount": "3", "method": "bitcoin"})
    )
    assert status == 400
    assert post(f"{base}/validate").status_code == 303
    factories.fresh(session)
    assert balances(session, day) == (-900, -450)


def test_the_same_payment_form_sent_ten_times_at_once_writes_one_entry(app, auth, session, day):
    # Ten clients with the same login session send the same rendered form at the same time.
    first = app.test_client()
    factories_login = first.post(
        "/login",
        data={
            "email": "c@example.test",
            "password": factories.PASSWORD,
            "csrf_token": csrf_token(first),
        },
    )
    assert factories_login.status_code == 302
    token = csrf_token(first, "/members/balances")
    cookie = first.get_cookie("session")
    key = uuid.uuid4().hex
    form = {
        "csrf_token": token,
        "form_key": key,
        "user_id": day["ada"].id,
        "kind": "payment",
        "amount": "20",
        "method": "cash",
    }
    answers = []

    def submit():
        client = app.test_client()
        client.set_cookie("session", cookie.value, domain=cookie.domain)
        answers.append(client.post("/members/balances", data=form).status_code)

    threads = [threading.Thread(target=submit) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [303] * 10
    assert _ledger(session, user_id=day["ada"].id) == 2000
    assert session.scalar(select(func.count()).select_from(FormSubmission)) == 1
    # a new form (a new key) records a new payment
    form["form_key"] = uuid.uuid4().hex
    assert first.post("/members/balances", data=form).status_code == 303
    assert _ledger(session, user_id=day["ada"].id) == 4000


def test_a_second_submission_shows_the_first_result(client, auth, post, session, day):
    auth.login("c@example.test")
    key = uuid.uuid4().hex
    form = {"form_key": key, "basket_id": day["b1"].id}
    base = f"/distributions/{day['d'].id}/validation"
    first = post(f"{base}/validate", form)
    again = post(f"{base}/validate", form)
    assert first.status_code == again.status_code == 303
    assert again.headers["Location"] == first.headers["Location"]
    assert "X-Refused" not in again.headers
    assert "Panier validé" in client.get(again.headers["Location"]).get_data(as_text=True)
    factories.fresh(session)
    assert balances(session, day) == (-900, 0)
    # a form without its key is refused, nothing written
    assert refusal(client, post(f"{base}/validate", {"form_key": ""}))[0] == 400
    assert balances(session, day) == (-900, 0)


def test_a_cash_up_gap_asks_for_confirmation(client, auth, post, session, now, day):
    from .test_validation import tablet

    tablet(session, day, day["b1"], "payment", {"method": "cash", "amount_cents": 900}, now)
    auth.login("c@example.test")
    base = f"/distributions/{day['d'].id}/validation"
    saved = post(f"{base}/cash-up", {"cash": "8,00"})
    assert saved.status_code == 303
    said = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert "compté moins enregistré) : Espèces -1,00" in said  # told at once, not at validation
    asked = post(f"{base}/validate")
    assert asked.status_code == 303 and asked.headers["X-Refused"] == "409"
    assert asked.headers["Location"].endswith(f"{base}?gap=1#confirm-gap")  # reloads safely
    page = client.get(asked.headers["Location"]).get_data(as_text=True)
    assert "compté moins enregistré" in page
    assert "-1,00" in page and 'name="confirm_gap"' in page
    assert 'name="confirm_gap"' not in client.get(base).get_data(as_text=True)
    assert balances(session, day) == (0, 0)  # nothing validated yet
    assert post(f"{base}/validate", {"confirm_gap": "1"}).status_code == 303
    factories.fresh(session)
    assert balances(session, day) == (0, -450)


def test_every_coordinator_action_is_in_the_audit_trail(client, auth, post, session, now, day):
    auth.login("c@example.test")
    d = day["d"]
    base = f"/distributions/{d.id}/validation"
    post(f"/distributions/{d.id}/baskets/{day['bob'].id}", {f"q-{day['bread'].id}": "3"})
    post(f"{base}/products/{day['bread'].id}/price", {"price": "4"})
    post(f"{base}/baskets/{day['b1'].id}/payment", {"amount": "8", "method": "cash"})
    post(f"{base}/cash-up", {"cash": "8"})
    post(f"{base}/validate", {"basket_id": day["b1"].id})
    post(f"{base}/undo", {"basket_id": day["b1"].id})
    factories.fresh(session)
    actions = [a.action for a in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions == [
        "basket_edit",
        "price_change",
        "price_change",
        "correction_payment",
        "cash_up",
        "validate_basket",
        "undo",
    ]
    edit = session.scalar(select(AuditEntry).where(AuditEntry.action == "basket_edit"))
    assert (edit.before, edit.after, edit.member_id) == (
        {"quantity": "1"},
        {"quantity": "3"},
        day["bob"].id,
    )
    page = client.get(base).get_data(as_text=True)
    assert "Historique des modifications" in page and "Prix modifié" in page
    history = client.get(f"/members/{day['bob'].id}/history").get_data(as_text=True)
    assert "Panier modifié" in history and "Prix modifié" in history
    # the trail is append-only in the database too
    import pytest
    from sqlalchemy.exc import DatabaseError

    with pytest.raises(DatabaseError):
        session.execute(AuditEntry.__table__.update().values(action="x"))
        session.flush()
    session.rollback()


def test_a_members_history_is_for_coordinators_of_the_group(client, auth, session, now, day):
    other = factories.group(session, now=now)
    stranger = factories.user(session, now=now, group=other)
    auth.login("ada@example.test")
    assert client.get(f"/members/{day['bob'].id}/history").status_code == 403
    auth.logout()
    auth.login("c@example.test")
    assert client.get(f"/members/{stranger.id}/history").status_code == 404


def test_one_handler_answers_a_refusal_by_how_it_was_asked(client, auth, post, session, day):
    """htmx gets a message fragment for #flashes (4xx), a plain form a flash and a 303 back
    to its page, JSON the message; the transaction is rolled back in each case."""
    auth.login("c@example.test")
    base = f"/distributions/{day['d'].id}/validation"
    data = {"amount": "0", "method": "cash"}
    htmx = post(f"{base}/baskets/{day['b1'].id}/payment", data, headers={"HX-Request": "true"})
    assert htmx.status_code == 400
    assert htmx.headers["HX-Retarget"] == "#flashes"
    assert 'class="flash flash-error"' in htmx.get_data(as_text=True)
    plain = post(
        f"{base}/baskets/{day['b1'].id}/payment",
        data,
        headers={"Referer": f"http://localhost{base}"},
    )
    assert plain.status_code == 303 and plain.headers["Location"] == base
    assert plain.headers["X-Refused"] == "400"
    foreign = post(
        f"{base}/baskets/{day['b1'].id}/payment", data, headers={"Referer": "https://evil.test/x"}
    )
    assert foreign.headers["Location"] == "/"  # never back to another site
    factories.fresh(session)
    assert session.scalar(select(func.count()).select_from(SheetEvent)) == 0
