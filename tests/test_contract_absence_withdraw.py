"""AMAP contracts: an absence declared by mistake is withdrawn until the deadline to
declare one; what declaring did is undone (lines back once, the upfront credit reversed
by a new entry, the producer's quantities back up); the sign-in sheet names who takes a
basket given away (printed, PDF and the tablet's snapshot)."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from webapp.models import AuditEntry, Basket, LedgerEntry, OrderLine
from webapp.models.contracts import ContractAbsence
from webapp.services import ServiceError, reports
from webapp.services import contracts as svc
from webapp.services.ledger import balance_cents
from webapp.services.sheet import snapshot

from . import factories
from .conftest import refusal
from .contract_world import item_of, world
from .factories import fresh

SEASON = 10 * (1500 + 6 * 40)  # 10 dates of a vegetable share and 6 eggs: 174,00 €
DATE = 1500 + 6 * 40  # one date's basket: 17,40 €


def sign(session, w, member, now, *, partner=None, mode="alone"):
    counts = {item_of(w["contract"], w["share"]): 1, item_of(w["contract"], w["eggs"]): 1}
    sub = svc.sign_up(
        session,
        w["contract"],
        member,
        svc.SignUp(
            counts=counts,
            dates=10,
            instalments=1,
            method="cheque",
            partner=partner,
            share_mode=mode,
        ),
        actor=member,
        now=now,
    )
    session.commit()
    return sub


def validated(app, session, w, now, **kw):
    sub = sign(session, w, w["alice"], now, **kw)
    with app.test_request_context():
        svc.validate_subscription(session, sub, actor=w["coordinator"], now=now)
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
        .order_by(OrderLine.product_id)
    ).all()


def as_signed(lines):
    return [(ln.product_id, ln.quantity, ln.unit_price_cents) for ln in lines]


def balance(session, w, user):
    return balance_cents(session, group_id=w["group"].id, user_id=user.id)


def share_quantity(session, day):
    """The producer's count of vegetable shares on that day (their summary)."""
    summaries = reports.product_summary(reports.day_orders(session, day), day.catalogues)
    amap = next(s for s in summaries if s.catalogue.name == "Légumes AMAP")
    row = next((r for r in amap.rows if r.product.name.startswith("Panier")), None)
    return row.contract_quantity if row else Decimal(0)


def audit_actions(session):
    return [a.action for a in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def absences(session):
    return session.scalar(select(func.count(ContractAbsence.id)))


@pytest.fixture
def w(app, session, now):
    with app.test_request_context():
        yield world(session, now)


def test_withdraw_before_the_deadline_undoes_the_absence(w, app, session, now):
    sub = validated(app, session, w, now)
    day = w["days"][2]
    signed = as_signed(contract_lines(session, day, w["alice"]))
    assert [q for _p, q, price in signed] == [Decimal(1), Decimal(6)]
    with app.test_request_context():
        svc.declare_absence(session, sub, day, member=w["alice"], actor=w["alice"], now=now)
    session.commit()
    assert contract_lines(session, day, w["alice"]) == []
    assert balance(session, w, w["alice"]) == -SEASON + DATE
    assert share_quantity(session, day) == 0
    entries = session.scalar(select(func.count(LedgerEntry.id)))

    with app.test_request_context():
        svc.withdraw_absence(session, sub, day, member=w["alice"], actor=w["alice"], now=now)
    session.commit()
    fresh(session)
    # The lines come back once, as validation made them (paid upfront: 0 on the day).
    assert as_signed(contract_lines(session, day, w["alice"])) == signed
    # The credit stays in the ledger; a new entry reverses it, to the cent.
    assert balance(session, w, w["alice"]) == -SEASON
    assert session.scalar(select(func.count(LedgerEntry.id))) == entries + 1
    reversal = session.scalars(select(LedgerEntry).order_by(LedgerEntry.id.desc())).first()
    assert (reversal.kind, reversal.amount_cents, reversal.user_id) == (
        "correction",
        -DATE,
        w["alice"].id,
    )
    assert "retirée" in reversal.note
    assert sub.absences == [] and absences(session) == 0
    assert audit_actions(session)[-1] == "contract_absence_withdraw"
    assert share_quantity(session, day) == 1  # the producer's summary counts it again

    # The absence no longer counts: the two allowed can still be declared.
    with app.test_request_context():
        for d in (w["days"][2], w["days"][3]):
            svc.declare_absence(session, sub, d, member=w["alice"], actor=w["alice"], now=now)
    session.commit()
    assert balance(session, w, w["alice"]) == -SEASON + 2 * DATE


def test_withdraw_per_distribution_brings_the_priced_lines_back_and_writes_no_money(
    app, session, now
):
    with app.test_request_context():
        w = world(session, now, billing="per_distribution")
    sub = validated(app, session, w, now)
    day = w["days"][1]
    signed = as_signed(contract_lines(session, day, w["alice"]))
    with app.test_request_context():
        svc.declare_absence(session, sub, day, member=w["alice"], actor=w["alice"], now=now)
        svc.withdraw_absence(session, sub, day, member=w["alice"], actor=w["alice"], now=now)
    session.commit()
    assert as_signed(contract_lines(session, day, w["alice"])) == signed
    assert {price for _p, _q, price in signed} == {1500, 40}
    assert session.scalar(select(func.count(LedgerEntry.id))) == 0


def test_an_absence_declared_while_pending_is_withdrawn_after_validation(w, app, session, now):
    sub = sign(session, w, w["alice"], now)
    day = w["days"][4]
    with app.test_request_context():
        svc.declare_absence(session, sub, day, member=w["alice"], actor=w["alice"], now=now)
        svc.validate_subscription(session, sub, actor=w["coordinator"], now=now)
    session.commit()
    assert contract_lines(session, day, w["alice"]) == []
    assert balance(session, w, w["alice"]) == -SEASON + DATE  # credited at validation
    with app.test_request_context():
        svc.withdraw_absence(session, sub, day, member=w["alice"], actor=w["alice"], now=now)
    session.commit()
    assert len(contract_lines(session, day, w["alice"])) == 2
    assert balance(session, w, w["alice"]) == -SEASON


def test_withdraw_while_pending_only_removes_the_absence(w, app, session, now):
    sub = sign(session, w, w["alice"], now)
    day = w["days"][4]
    with app.test_request_context():
        svc.declare_absence(session, sub, day, member=w["alice"], actor=w["alice"], now=now)
        svc.withdraw_absence(session, sub, day, member=w["alice"], actor=w["alice"], now=now)
    session.commit()
    assert absences(session) == 0
    assert session.scalar(select(func.count(OrderLine.id))) == 0
    assert session.scalar(select(func.count(LedgerEntry.id))) == 0


def test_withdraw_after_the_deadline_is_refused_and_changes_nothing(w, app, session, now):
    sub = validated(app, session, w, now)
    day = w["days"][0]
    with app.test_request_context():
        svc.declare_absence(session, sub, day, member=w["alice"], actor=w["alice"], now=now)
    session.commit()
    before = (balance(session, w, w["alice"]), audit_actions(session))
    late = svc.rules.absence_deadline(day.orders_close_at, 1)
    with app.test_request_context(), pytest.raises(ServiceError, match="pouvaient être retirées"):
        svc.withdraw_absence(session, sub, day, member=w["alice"], actor=w["alice"], now=late)
    session.rollback()
    fresh(session)
    assert contract_lines(session, day, w["alice"]) == []
    assert (balance(session, w, w["alice"]), audit_actions(session)) == before
    assert absences(session) == 1


def test_withdrawing_twice_is_refused_and_the_lines_are_never_doubled(w, app, session, now):
    sub = validated(app, session, w, now)
    day = w["days"][2]
    with app.test_request_context():
        svc.declare_absence(session, sub, day, member=w["alice"], actor=w["alice"], now=now)
        svc.withdraw_absence(session, sub, day, member=w["alice"], actor=w["alice"], now=now)
        session.commit()
        with pytest.raises(ServiceError, match="Aucune absence"):
            svc.withdraw_absence(session, sub, day, member=w["alice"], actor=w["alice"], now=now)
        session.rollback()
        # Never declared on that date either.
        with pytest.raises(ServiceError, match="Aucune absence"):
            svc.withdraw_absence(
                session, sub, w["days"][5], member=w["alice"], actor=w["alice"], now=now
            )
    session.rollback()
    assert len(contract_lines(session, day, w["alice"])) == 2
    assert balance(session, w, w["alice"]) == -SEASON


def test_a_withdrawal_that_lost_a_race_is_refused_not_a_crash(w, app, session, now):
    """The member and a coordinator withdraw the same absence at once: the second finds the
    row gone (deleted behind its back here) and is refused; nothing of it is kept."""
    from sqlalchemy import text

    sub = validated(app, session, w, now)
    day = w["days"][2]
    with app.test_request_context():
        svc.declare_absence(session, sub, day, member=w["alice"], actor=w["alice"], now=now)
        session.commit()
        assert len(sub.absences) == 1  # loaded, as the second request had read it
        session.connection().execute(text("DELETE FROM contract_absences"))
        with pytest.raises(ServiceError, match="Aucune absence"):
            svc.withdraw_absence(session, sub, day, member=w["alice"], actor=w["alice"], now=now)
    session.rollback()
    assert contract_lines(session, day, w["alice"]) == []  # nothing put back by the loser


def test_give_policy_withdraw_removes_the_absence_and_keeps_the_basket(app, session, now):
    with app.test_request_context():
        w = world(session, now, policy="give")
    sub = validated(app, session, w, now)
    day = w["days"][1]
    signed = as_signed(contract_lines(session, day, w["alice"]))
    with app.test_request_context():
        svc.declare_absence(
            session,
            sub,
            day,
            member=w["alice"],
            given_to="Jeanne Dupont",
            actor=w["alice"],
            now=now,
        )
        svc.withdraw_absence(session, sub, day, member=w["alice"], actor=w["alice"], now=now)
    session.commit()
    assert absences(session) == 0
    assert as_signed(contract_lines(session, day, w["alice"])) == signed
    assert balance(session, w, w["alice"]) == -SEASON
    withdrawn = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert withdrawn.action == "contract_absence_withdraw"
    assert withdrawn.before == {"given_to": "Jeanne Dupont"}


def test_a_partner_withdraws_their_own_absence_only(w, app, session, now):
    sub = validated(app, session, w, now, partner=w["bob"], mode="alternate")
    alices, bobs = w["days"][2], w["days"][3]
    with app.test_request_context():
        svc.declare_absence(session, sub, alices, member=w["alice"], actor=w["alice"], now=now)
        svc.declare_absence(session, sub, bobs, member=w["bob"], actor=w["bob"], now=now)
        svc.withdraw_absence(session, sub, bobs, member=w["bob"], actor=w["bob"], now=now)
    session.commit()
    assert len(contract_lines(session, bobs, w["bob"])) == 2
    assert contract_lines(session, bobs, w["alice"]) == []
    assert contract_lines(session, alices, w["alice"]) == []
    assert balance(session, w, w["bob"]) == -SEASON // 2
    assert balance(session, w, w["alice"]) == -SEASON // 2 + DATE


# ---- through the web ---------------------------------------------------------------


def _login(auth, user):
    assert auth.login(user.email).status_code in (302, 303)


def test_web_member_withdraws_from_their_subscription_page(app, client, auth, post, session, now):
    with app.test_request_context():
        w = world(session, now)
    sub = validated(app, session, w, now)
    day = w["days"][2]
    _login(auth, w["alice"])
    page = f"/contracts/subscriptions/{sub.id}"
    assert post(f"{page}/absences", {"distribution_id": day.id}).status_code == 303
    html = client.get(page).get_data(as_text=True)
    assert "Absences déclarées" in html and "Retirer mon absence" in html
    answer = post(f"{page}/absences/withdraw", {"distribution_id": day.id})
    assert answer.status_code == 303 and "X-Refused" not in answer.headers
    assert "Absence retirée." in client.get(answer.headers["Location"]).get_data(as_text=True)
    fresh(session)
    assert sub.absences == [] and len(contract_lines(session, day, w["alice"])) == 2
    assert balance(session, w, w["alice"]) == -SEASON
    # Again: nothing to withdraw.
    answer = post(
        f"{page}/absences/withdraw", {"distribution_id": day.id}, headers={"Referer": page}
    )
    status, text = refusal(client, answer)
    assert status == 409 and "Aucune absence" in text
    fresh(session)
    assert len(contract_lines(session, day, w["alice"])) == 2


def test_web_withdraw_after_the_deadline_is_refused(app, client, auth, post, session, now):
    with app.test_request_context():
        w = world(session, now)
    sub = validated(app, session, w, now)
    day = w["days"][0]
    _login(auth, w["alice"])
    page = f"/contracts/subscriptions/{sub.id}"
    assert post(f"{page}/absences", {"distribution_id": day.id}).status_code == 303
    later = day.orders_close_at - timedelta(hours=12)  # past the day's notice
    app.config["FROZEN_NOW"] = later.isoformat()
    try:
        html = client.get(page).get_data(as_text=True)
        assert "Trop tard pour la retirer." in html and "Retirer mon absence" not in html
        answer = post(
            f"{page}/absences/withdraw", {"distribution_id": day.id}, headers={"Referer": page}
        )
        status, text = refusal(client, answer)
    finally:
        app.config["FROZEN_NOW"] = now.isoformat()
    assert status == 409 and "pouvaient être retirées" in text
    fresh(session)
    assert len(sub.absences) == 1 and contract_lines(session, day, w["alice"]) == []
    assert balance(session, w, w["alice"]) == -SEASON + DATE


def test_web_someone_elses_or_another_groups_subscription_is_404(
    app, client, auth, post, session, now
):
    with app.test_request_context():
        w = world(session, now)
    sub = validated(app, session, w, now)
    day = w["days"][2]
    with app.test_request_context():
        svc.declare_absence(session, sub, day, member=w["alice"], actor=w["alice"], now=now)
    other_group = factories.group(session, now=now)
    stranger = factories.user(session, now=now, group=other_group, role="coordinator")
    session.commit()
    url = f"/contracts/subscriptions/{sub.id}/absences/withdraw"
    for who in (w["chloe"], stranger):
        _login(auth, who)
        assert post(url, {"distribution_id": day.id}).status_code == 404
        auth.logout()
    fresh(session)
    assert len(sub.absences) == 1 and contract_lines(session, day, w["alice"]) == []


def test_web_coordinator_withdraws_for_a_member(app, client, auth, post, session, now):
    with app.test_request_context():
        w = world(session, now)
    sub = validated(app, session, w, now)
    day = w["days"][3]
    with app.test_request_context():
        svc.declare_absence(session, sub, day, member=w["alice"], actor=w["alice"], now=now)
    session.commit()
    _login(auth, w["coordinator"])
    page = f"/contracts/subscriptions/{sub.id}"
    html = client.get(page).get_data(as_text=True)
    assert "Retirer cette absence" in html and "Alice Aubry" in html
    # without `member` a coordinator acts for themselves (not on this subscription): a
    # refusal, not a 500 (None was taken for the missing partner)
    own = post(f"{page}/absences/withdraw", {"distribution_id": day.id})
    assert own.status_code == 303 and own.headers["X-Refused"] == "409"
    answer = post(f"{page}/absences/withdraw", {"distribution_id": day.id, "member": w["alice"].id})
    assert answer.status_code == 303 and "X-Refused" not in answer.headers
    fresh(session)
    assert sub.absences == [] and len(contract_lines(session, day, w["alice"])) == 2
    assert balance(session, w, w["alice"]) == -SEASON
    entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert (entry.action, entry.actor_id, entry.member_id) == (
        "contract_absence_withdraw",
        w["coordinator"].id,
        w["alice"].id,
    )


# ---- the sign-in sheet -------------------------------------------------------------


def test_the_signin_sheet_names_who_takes_a_basket_given_away(
    app, client, auth, post, session, now
):
    with app.test_request_context():
        w = world(session, now, policy="give")
    sub = validated(app, session, w, now)
    bobs = sign(session, w, w["bob"], now)
    with app.test_request_context():
        svc.validate_subscription(session, bobs, actor=w["coordinator"], now=now)
    day = w["days"][0]
    with app.test_request_context():
        svc.declare_absence(
            session,
            sub,
            day,
            member=w["alice"],
            given_to="Jeanne Dupont",
            actor=w["alice"],
            now=now,
        )
    session.commit()
    _login(auth, w["coordinator"])
    html = client.get(f"/distributions/{day.id}/signin").get_data(as_text=True)
    assert html.count("Donné à") == 1 and "Donné à Jeanne Dupont" in html
    alice_block = html[html.index("Aubry Alice") : html.index("Blanc Bob")]
    assert "Donné à Jeanne Dupont" in alice_block
    pdf = client.get(f"/distributions/{day.id}/signin.pdf")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert text.count("Donné à") == 1 and "Donné à Jeanne Dupont" in text
    assert text.index("Aubry Alice") < text.index("Donné à") < text.index("Blanc Bob")
    # The tablet's snapshot names the taker on that member's basket only.
    with app.test_request_context():
        tablet = snapshot(session, day, w["group"], now=now)
    assert {b["member"]["name"]: b["given_to"] for b in tablet["baskets"]} == {
        "Alice Aubry": "Jeanne Dupont",
        "Bob Blanc": "",
    }
    # Another catalogue's sheet does not carry the contract basket: no mention there.
    shop_sheet = client.get(f"/distributions/{day.id}/signin?catalogue={w['shop'].id}")
    assert "Donné à" not in shop_sheet.get_data(as_text=True)
    # Withdrawn: the sheet no longer says it.
    auth.logout()
    _login(auth, w["alice"])
    page = f"/contracts/subscriptions/{sub.id}"
    assert post(f"{page}/absences/withdraw", {"distribution_id": day.id}).status_code == 303
    auth.logout()
    _login(auth, w["coordinator"])
    assert "Donné à" not in client.get(f"/distributions/{day.id}/signin").get_data(as_text=True)
