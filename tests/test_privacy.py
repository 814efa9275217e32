"""A member's own data: the export (everything, as a ZIP of CSV and JSON), the account's
erasure (refused while money is open; money kept under an anonymous name), the page."""

import csv
import io
import json
import uuid
import zipfile
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from webapp.models import (
    AccountErasure,
    Basket,
    DutyAssignment,
    LedgerEntry,
    LoginSession,
    Membership,
    OutboxMessage,
    PushSubscription,
    SheetEvent,
    User,
)
from webapp.services import ServiceError
from webapp.services import privacy as svc

from . import factories
from .conftest import refusal


@pytest.fixture
def world(session, now):
    group = factories.group(session, now=now, name="AMAP")
    coord = factories.user(session, now=now, group=group, role="coordinator", email="c@x.test")
    member = factories.user(
        session,
        now=now,
        group=group,
        email="m@x.test",
        first_name="Mia",
        last_name="Durand",
        phone="06 11 22 33 44",
    )
    catalogue = factories.catalogue(session, group=group)
    bread = factories.product(session, catalogue=catalogue, name='=HYPERLINK("x")', price_cents=450)
    d = factories.distribution(
        session, group=group, now=now, state="validated", catalogues=[catalogue]
    )
    basket = factories.order(
        session, distribution=d, user=member, now=now, lines=[(bread, Decimal(2))]
    )
    basket.validated_at = d.validated_at
    earlier = now - timedelta(days=7)
    session.add_all(
        [
            LedgerEntry(
                group_id=group.id,
                user_id=member.id,
                distribution_id=d.id,
                basket_id=basket.id,
                kind="order",
                amount_cents=-900,
                pending=False,
                note="",
                created_at=earlier,
            ),
            LedgerEntry(
                group_id=group.id,
                user_id=member.id,
                distribution_id=d.id,
                basket_id=basket.id,
                kind="payment",
                amount_cents=900,
                payment_method="cash",
                pending=False,
                note="",
                created_at=earlier,
            ),
            SheetEvent(
                id=str(uuid.uuid4()),
                distribution_id=d.id,
                basket_id=basket.id,
                device_id="tab-1",
                kind="signature",
                payload={"svg_path": "M1 1 L2 2"},
                recorded_at=earlier,
                received_at=earlier,
                late=False,
            ),
            DutyAssignment(
                distribution_id=d.id, user_id=member.id, role_name="accueil", created_at=earlier
            ),
            OutboxMessage(
                dedupe_key="k1",
                group_id=group.id,
                user_id=member.id,
                kind="orders_open",
                ref="1",
                channel="auto",
                title="Commandes ouvertes",
                body="Bonjour Mia",
                url="/",
                state="sent",
                attempts=1,
                next_attempt_at=earlier,
                created_at=earlier,
                sent_at=earlier,
            ),
            OutboxMessage(
                dedupe_key="k2",
                group_id=group.id,
                user_id=member.id,
                kind="orders_open",
                ref="2",
                channel="auto",
                title="Encore",
                body="Bonjour Mia",
                url="/",
                state="queued",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            ),
            PushSubscription(
                user_id=member.id,
                endpoint="https://push.example/mia",
                p256dh="k",
                auth="a",
                created_at=earlier,
            ),
        ]
    )
    session.commit()
    return dict(group=group, coord=coord, member=member, d=d, basket=basket, bread=bread)


def _zip(response) -> zipfile.ZipFile:
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    return zipfile.ZipFile(io.BytesIO(response.data))


def test_a_member_downloads_everything_held_about_them(auth, client, world):
    auth.login("m@x.test")
    archive = _zip(client.get("/account/export"))
    names = set(archive.namelist())
    assert {
        "court-circuit.json",
        "profile.csv",
        "order_lines.csv",
        "receipts.csv",
        "ledger_entries.csv",
        "duties.csv",
        "notifications_sent.csv",
        "tablet_records.csv",
        "groups.csv",
        "membership_fees.csv",
        "messages_received.csv",
    } <= names
    data = json.loads(archive.read("court-circuit.json"))
    assert data["profile"][0]["email"] == "m@x.test"
    assert data["profile"][0]["phone"] == "06 11 22 33 44"
    assert [r["total_cents"] for r in data["receipts"]] == [900]
    assert [(r["quantity"], r["total_cents"]) for r in data["order_lines"]] == [("2", 900)]
    assert sorted(e["amount_cents"] for e in data["ledger_entries"]) == [-900, 900]
    assert [d["role"] for d in data["duties"]] == ["accueil"]
    assert {n["title"] for n in data["notifications_sent"]} == {"Commandes ouvertes", "Encore"}
    assert data["tablet_records"][0]["payload"] == {"svg_path": "M1 1 L2 2"}
    assert data["groups"][0]["group"] == "AMAP"


def test_the_export_opens_safely_in_a_spreadsheet(auth, client, world):
    auth.login("m@x.test")
    archive = _zip(client.get("/account/export"))
    text = archive.read("order_lines.csv").decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0][:3] == ["group", "distribution", "basket"]
    assert rows[1][3] == '\'=HYPERLINK("x")'


def test_the_export_holds_nothing_of_other_members(auth, client, session, world, now):
    other = factories.user(session, now=now, group=world["group"], email="o@x.test")
    factories.order(
        session, distribution=world["d"], user=other, now=now, lines=[(world["bread"], Decimal(5))]
    )
    auth.login("m@x.test")
    data = json.loads(_zip(client.get("/account/export")).read("court-circuit.json"))
    assert "o@x.test" not in json.dumps(data)
    assert len(data["order_lines"]) == 1


def test_the_export_needs_a_sign_in(client):
    response = client.get("/account/export")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_the_privacy_page_is_public(client):
    page = client.get("/privacy")
    assert page.status_code == 200
    assert 'id="kept"' in page.get_data(as_text=True)


def _totals(session, group_id):
    """What the group's reports add up: each balance and the sums per kind."""
    factories.fresh(session)
    balances = dict(
        session.execute(
            select(LedgerEntry.user_id, func.sum(LedgerEntry.amount_cents))
            .where(LedgerEntry.group_id == group_id)
            .group_by(LedgerEntry.user_id)
        ).all()
    )
    kinds = dict(
        session.execute(
            select(LedgerEntry.kind, func.sum(LedgerEntry.amount_cents))
            .where(LedgerEntry.group_id == group_id)
            .group_by(LedgerEntry.kind)
        ).all()
    )
    return balances, kinds


def test_a_member_deletes_their_account_and_the_money_stays(auth, client, post, session, world):
    before = _totals(session, world["group"].id)
    auth.login("m@x.test")
    assert client.get("/account/delete").status_code == 200
    response = post(
        "/account/delete", {"password": factories.PASSWORD}, token_from="/account/delete"
    )
    assert response.status_code == 303
    assert _totals(session, world["group"].id) == before
    user = session.get(User, world["member"].id)
    assert "Mia" not in user.name and "Durand" not in user.name
    assert (user.email, user.phone, user.password_hash) == (
        f"erased-{user.id}@erased.invalid",
        "",
        None,
    )
    assert session.scalar(select(Membership).where(Membership.user_id == user.id)) is None
    assert session.scalar(select(func.count()).select_from(PushSubscription)) == 0
    signed_in = (
        select(func.count()).select_from(LoginSession).where(LoginSession.user_id == user.id)
    )
    assert session.scalar(signed_in) == 0  # no sign-in of theirs kept
    assert session.get(Basket, world["basket"].id).user_id == user.id
    assert session.scalar(select(func.count()).select_from(SheetEvent)) == 1
    # What left keeps its state, not its text; what had not left never will.
    rows = session.scalars(select(OutboxMessage)).all()
    assert [(r.state, r.title, r.body) for r in rows] == [("sent", "", "")]
    assert session.get(AccountErasure, user.id).asked_by == "self"
    # Signed out, and the old password opens nothing.
    assert client.get("/account/").status_code == 302
    auth.login("m@x.test")
    assert client.get("/account/").status_code == 302


def test_a_wrong_password_deletes_nothing(auth, post, session, world):
    auth.login("m@x.test")
    response = post("/account/delete", {"password": "wrong"}, token_from="/account/delete")
    assert response.status_code == 400
    factories.fresh(session)
    assert session.get(User, world["member"].id).email == "m@x.test"


def test_deletion_is_refused_while_the_balance_is_not_zero(auth, client, post, session, world, now):
    session.add(
        LedgerEntry(
            group_id=world["group"].id,
            user_id=world["member"].id,
            kind="correction",
            amount_cents=-120,
            pending=False,
            note="",
            created_at=now,
        )
    )
    session.commit()
    auth.login("m@x.test")
    page = client.get("/account/delete").get_data(as_text=True)
    assert 'id="erase-refusals"' in page and 'id="erase-form"' not in page
    status, page = refusal(
        client,
        post("/account/delete", {"password": factories.PASSWORD}, token_from="/account/delete"),
    )
    assert status == 409
    assert "1,20" in page
    factories.fresh(session)
    assert session.get(User, world["member"].id).email == "m@x.test"
    assert session.get(AccountErasure, world["member"].id) is None


def test_deletion_is_refused_while_a_basket_is_not_validated(app, session, world, now):
    open_day = factories.distribution(session, group=world["group"], now=now, state="open")
    factories.order(
        session,
        distribution=open_day,
        user=world["member"],
        now=now,
        lines=[(world["bread"], Decimal(1))],
    )
    with app.test_request_context():
        reasons = svc.erase_refusals(session, world["member"])
        assert len(reasons) == 1
        with pytest.raises(ServiceError) as refused:
            svc.erase_account(
                session, world["member"], asked_by="self", actor=world["member"], now=now
            )
    assert refused.value.status == 409


def test_an_empty_basket_does_not_stop_a_deletion(app, session, world, now):
    open_day = factories.distribution(session, group=world["group"], now=now, state="open")
    factories.order(
        session,
        distribution=open_day,
        user=world["member"],
        now=now,
        lines=[(world["bread"], Decimal(0))],
    )
    with app.test_request_context():
        assert svc.erase_refusals(session, world["member"]) == []


def test_the_only_coordinator_cannot_leave_the_group_without_one(app, session, world):
    with app.test_request_context():
        assert len(svc.erase_refusals(session, world["coord"])) == 1


def test_a_coordinator_deletes_an_account_asked_on_paper_once(auth, client, post, session, world):
    before = _totals(session, world["group"].id)
    auth.login("c@x.test")
    member_id = world["member"].id
    page = client.get(f"/members/{member_id}/privacy").get_data(as_text=True)
    assert 'id="erase-form"' in page
    archive = _zip(client.get(f"/members/{member_id}/export"))
    assert "m@x.test" in archive.read("profile.csv").decode("utf-8-sig")
    # Not confirmed: nothing happens.
    assert post(f"/members/{member_id}/erase", {}).status_code == 303
    factories.fresh(session)
    assert session.get(AccountErasure, member_id) is None
    assert post(f"/members/{member_id}/erase", {"confirm": "1"}).status_code == 303
    assert _totals(session, world["group"].id) == before
    assert session.get(AccountErasure, member_id).asked_by == "paper"
    # Twice: refused, with the reason.
    status, _page = refusal(client, post(f"/members/{member_id}/erase", {"confirm": "1"}))
    assert status == 409


def test_deleting_twice_is_refused_by_the_service(app, session, world, now):
    with app.test_request_context():
        svc.erase_account(session, world["member"], asked_by="paper", actor=world["coord"], now=now)
        session.commit()
        with pytest.raises(ServiceError) as refused:
            svc.erase_account(
                session, world["member"], asked_by="paper", actor=world["coord"], now=now
            )
    assert refused.value.status == 409


def test_only_coordinators_of_the_group_act_for_a_member(auth, client, post, session, world, now):
    other = factories.group(session, now=now)
    factories.user(session, now=now, group=other, role="coordinator", email="o@x.test")
    auth.login("o@x.test")
    assert client.get(f"/members/{world['member'].id}/export").status_code == 404
    assert post(f"/members/{world['member'].id}/erase", {"confirm": "1"}).status_code == 404
    auth.logout()
    auth.login("m@x.test")
    assert client.get(f"/members/{world['coord'].id}/export").status_code == 403
    factories.fresh(session)
    assert session.get(AccountErasure, world["member"].id) is None
