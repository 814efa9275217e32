"""Memberships: the period, the fee rules, fees into the ledger, who has not paid, and
what an unpaid membership does."""

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from webapp.domain.memberships import fee_refusal, period_label, period_of
from webapp.models import Basket, LedgerEntry, MembershipFee, MembershipSettings
from webapp.services import ServiceError
from webapp.services import memberships as svc
from webapp.services.ledger import balance_cents

from . import factories
from .conftest import csrf_token, refusal


@pytest.mark.parametrize(
    ("day", "start_month", "expected"),
    [
        (date(2026, 1, 1), 1, (date(2026, 1, 1), date(2027, 1, 1))),
        (date(2026, 12, 31), 1, (date(2026, 1, 1), date(2027, 1, 1))),
        (date(2026, 8, 31), 9, (date(2025, 9, 1), date(2026, 9, 1))),
        (date(2026, 9, 1), 9, (date(2026, 9, 1), date(2027, 9, 1))),
    ],
)
def test_period_of_a_day(day, start_month, expected):
    assert period_of(day, start_month) == expected


def test_period_labels():
    assert period_label(date(2026, 1, 1)) == "2026"
    assert period_label(date(2026, 9, 1)) == "2026-2027"


@pytest.mark.parametrize(
    ("mode", "fee", "amount", "reason"),
    [
        ("none", None, 1000, "no_fee"),
        ("fixed", 1500, 1500, None),
        ("fixed", 1500, 2000, "fee_not_fixed"),
        ("free", 1000, 999, "fee_too_low"),
        ("free", 1000, 5000, None),
        ("free", 1000, 0, "fee_too_low"),
        ("fixed", 1500, -1500, "fee_too_low"),
    ],
)
def test_fee_rules(mode, fee, amount, reason):
    assert fee_refusal(mode, fee, amount) == reason


@pytest.fixture
def club(session, now):
    group = factories.group(session, now=now, name="AMAP", payment_methods=["cash", "cheque"])
    coord = factories.user(session, now=now, group=group, role="coordinator", email="c@x.test")
    member = factories.user(session, now=now, group=group, email="m@x.test", first_name="Mia")
    return dict(group=group, coord=coord, member=member)


def _rules(post, **values):
    data = {"start_month": "1", "fee_mode": "fixed", "fee": "15", "unpaid_rule": "nothing"}
    data.update(values)
    return post("/memberships/settings", data, token_from="/memberships/")


def _pay(post, user_id, **values):
    data = {"user_id": str(user_id), "amount": "15", "method": "cash", "paid_on": "2026-11-20"}
    data.update(values)
    return post("/memberships/fees", data, token_from="/memberships/")


def test_coordinator_sets_the_rules(auth, post, session, club):
    auth.login("c@x.test")
    assert (
        _rules(post, start_month="9", fee_mode="free", fee="10,50", unpaid_rule="block").status_code
        == 303
    )
    factories.fresh(session)
    s = session.get(MembershipSettings, club["group"].id)
    assert (s.start_month, s.fee_mode, s.fee_cents, s.unpaid_rule) == (9, "free", 1050, "block")


@pytest.mark.parametrize("fee", ["0", "-5", "", "abc"])
def test_a_fee_of_zero_or_negative_is_refused(auth, post, session, club, fee):
    auth.login("c@x.test")
    response = _rules(post, fee=fee)
    assert response.status_code == 400
    assert 'id="f-fee-error"' in response.get_data(as_text=True)
    factories.fresh(session)
    assert session.get(MembershipSettings, club["group"].id) is None


def test_no_fee_needs_no_amount(auth, post, session, club):
    auth.login("c@x.test")
    assert _rules(post, fee_mode="none", fee="").status_code == 303


def test_a_fee_paid_goes_into_the_ledger_and_the_balance_still_adds_up(
    auth, post, client, session, club
):
    auth.login("c@x.test")
    _rules(post)
    page = client.get("/memberships/").get_data(as_text=True)
    assert "Mia" in page.split('id="unpaid"')[1].split("</ul>")[0]
    assert _pay(post, club["member"].id).status_code == 303
    factories.fresh(session)
    entries = session.scalars(
        select(LedgerEntry).where(LedgerEntry.user_id == club["member"].id).order_by(LedgerEntry.id)
    ).all()
    assert [(e.kind, e.amount_cents, e.payment_method) for e in entries] == [
        ("membership", -1500, None),
        ("payment", 1500, "cash"),
    ]
    assert balance_cents(session, group_id=club["group"].id, user_id=club["member"].id) == 0
    fee = session.scalar(select(MembershipFee))
    assert (fee.period_start, fee.amount_cents, fee.paid_on) == (
        date(2026, 1, 1),
        1500,
        date(2026, 11, 20),
    )
    page = client.get("/memberships/").get_data(as_text=True)
    assert "Mia" not in page.split('id="unpaid"')[1].split("</ul>")[0]
    # The member sees theirs.
    auth.logout()
    auth.login("m@x.test")
    mine = client.get("/memberships/mine").get_data(as_text=True)
    assert "2026" in mine and "15,00" in mine
    # The account history lists the two entries (its label for the kind is not mine to add).
    assert client.get("/account/history").status_code == 200


def test_a_fee_paid_from_the_balance_is_a_debit_only(auth, post, session, club, now):
    session.add(
        LedgerEntry(
            group_id=club["group"].id,
            user_id=club["member"].id,
            kind="payment",
            amount_cents=4000,
            payment_method="cash",
            pending=False,
            note="",
            created_at=now,
        )
    )
    session.commit()
    auth.login("c@x.test")
    _rules(post)
    assert _pay(post, club["member"].id, method="balance").status_code == 303
    factories.fresh(session)
    assert balance_cents(session, group_id=club["group"].id, user_id=club["member"].id) == 2500


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"amount": "20"}, "amount"),  # the fee is fixed at 15
        ({"amount": "0"}, "amount"),
        ({"amount": "-15"}, "amount"),
        ({"amount": "quinze"}, "amount"),
        ({"method": "card"}, "method"),  # not one of the group's methods
        ({"paid_on": "2026-12-25"}, "paid_on"),  # in the future
        ({"paid_on": "hier"}, "paid_on"),
        ({"period": "2020-01-01"}, "period"),
    ],
)
def test_bad_fee_payments_are_refused_and_write_nothing(auth, post, session, club, values, field):
    auth.login("c@x.test")
    _rules(post)
    response = _pay(post, club["member"].id, **values)
    assert response.status_code == 400
    assert f'id="f-{field}-error"' in response.get_data(as_text=True)
    factories.fresh(session)
    assert session.scalar(select(func.count()).select_from(LedgerEntry)) == 0
    assert session.scalar(select(func.count()).select_from(MembershipFee)) == 0


def test_a_free_fee_below_its_minimum_is_refused(auth, post, session, club):
    auth.login("c@x.test")
    _rules(post, fee_mode="free", fee="10")
    assert _pay(post, club["member"].id, amount="9,99").status_code == 400
    assert _pay(post, club["member"].id, amount="25").status_code == 303


def test_a_period_is_paid_once(auth, post, client, session, club):
    auth.login("c@x.test")
    _rules(post)
    _pay(post, club["member"].id)
    status, page = refusal(client, _pay(post, club["member"].id))
    assert status == 409
    assert "2026" in page
    # The next period can be paid ahead.
    assert _pay(post, club["member"].id, period="2027-01-01").status_code == 303
    factories.fresh(session)
    assert session.scalar(select(func.count()).select_from(MembershipFee)) == 2


def test_the_same_form_sent_twice_records_once(auth, client, session, club):
    auth.login("c@x.test")
    token = csrf_token(client, "/memberships/")
    client.post(
        "/memberships/settings",
        data={
            "csrf_token": token,
            "start_month": "1",
            "fee_mode": "fixed",
            "fee": "15",
            "unpaid_rule": "nothing",
        },
    )
    data = {
        "csrf_token": token,
        "form_key": uuid.uuid4().hex,
        "user_id": club["member"].id,
        "amount": "15",
        "method": "cash",
        "paid_on": "2026-11-20",
    }
    assert client.post("/memberships/fees", data=data).status_code == 303
    assert client.post("/memberships/fees", data=data).status_code == 303
    factories.fresh(session)
    assert session.scalar(select(func.count()).select_from(LedgerEntry)) == 2


def test_no_fee_recorded_when_the_group_asks_none(app, session, club, now):
    with app.test_request_context(), pytest.raises(ServiceError):
        svc.record_fee(
            session,
            club["group"],
            club["member"],
            amount_cents=1500,
            method="cash",
            paid_on=now.date(),
            actor=club["coord"],
            now=now,
        )


def test_someone_of_another_group_cannot_pay_here(auth, post, session, club, now):
    stranger = factories.user(session, now=now, group=factories.group(session, now=now))
    auth.login("c@x.test")
    _rules(post)
    assert _pay(post, stranger.id).status_code == 404


def test_access(auth, client, post, club):
    auth.login("m@x.test")
    assert client.get("/memberships/").status_code == 403
    assert _rules(post).status_code == 403
    assert _pay(post, club["member"].id).status_code == 403
    assert client.get("/memberships/mine").status_code == 200


@pytest.mark.parametrize(
    ("rule", "notice", "may_order"),
    [("nothing", False, True), ("warn", True, True), ("block", True, False)],
)
def test_what_an_unpaid_membership_does(app, session, club, now, rule, notice, may_order):
    with app.test_request_context():
        svc.save_settings(
            session,
            club["group"],
            start_month=1,
            fee_mode="fixed",
            fee_cents=1500,
            unpaid_rule=rule,
            actor=club["coord"],
            now=now,
        )
        assert bool(svc.unpaid_notice(session, club["group"].id, club["member"], now=now)) == notice
        if may_order:
            svc.check_may_order(session, club["group"].id, club["member"], now=now)
        else:
            with pytest.raises(ServiceError) as refused:
                svc.check_may_order(session, club["group"].id, club["member"], now=now)
            assert refused.value.status == 409
        svc.record_fee(
            session,
            club["group"],
            club["member"],
            amount_cents=1500,
            method="cash",
            paid_on=now.date(),
            actor=club["coord"],
            now=now,
        )
        # Paid: no notice, orders open.
        assert svc.unpaid_notice(session, club["group"].id, club["member"], now=now) is None
        svc.check_may_order(session, club["group"].id, club["member"], now=now)


def test_a_new_period_asks_again(app, session, club, now):
    with app.test_request_context():
        svc.save_settings(
            session,
            club["group"],
            start_month=1,
            fee_mode="fixed",
            fee_cents=1500,
            unpaid_rule="block",
            actor=club["coord"],
            now=now,
        )
        svc.record_fee(
            session,
            club["group"],
            club["member"],
            amount_cents=1500,
            method="cash",
            paid_on=now.date(),
            actor=club["coord"],
            now=now,
        )
        next_year = now + timedelta(days=60)
        with pytest.raises(ServiceError):
            svc.check_may_order(session, club["group"].id, club["member"], now=next_year)


def test_the_ledger_refuses_a_membership_credit(session, club, now):
    session.add(
        LedgerEntry(
            group_id=club["group"].id,
            user_id=club["member"].id,
            kind="membership",
            amount_cents=1500,
            pending=False,
            note="",
            created_at=now,
        )
    )
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()


def test_the_shop_warns_or_refuses_an_unpaid_member(client, auth, post, session, club, now):
    catalogue = factories.catalogue(session, group=club["group"])
    bread = factories.product(session, catalogue=catalogue, price_cents=450)
    d = factories.distribution(session, group=club["group"], now=now, catalogues=[catalogue])
    auth.login("c@x.test")
    assert _rules(post, unpaid_rule="warn").status_code == 303
    auth.logout()
    auth.login("m@x.test")
    shop = f"/distributions/{d.id}/shop"
    assert "adhésion" in client.get(shop).get_data(as_text=True).lower()
    line = f"{shop}/products/{bread.id}"
    assert post(line, {"q": "1"}, token_from=shop).status_code == 303  # warned, not refused
    auth.logout()
    auth.login("c@x.test")
    assert _rules(post, unpaid_rule="block").status_code == 303
    auth.logout()
    auth.login("m@x.test")
    refused = post(line, {"q": "2"}, token_from=shop, headers={"HX-Request": "true"})
    assert refused.status_code == 409 and "adhésion" in refused.get_data(as_text=True).lower()
    factories.fresh(session)
    assert [ln.quantity for b in session.scalars(select(Basket)) for ln in b.lines] == [1]
