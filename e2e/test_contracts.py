"""An AMAP contract beside the shop: a coordinator sets up a vegetable contract for 10
weekly distributions on a laptop; two members sign up on their phones (Alice shares hers
with Bob, alternate weeks), Chloé declares an absence; the coordinator validates the
subscriptions and records Chloé's cheque. On the first day the sign-in sheet, the tablet
and the validation show the right baskets, and the balances add up to the cent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests import factories

from .conftest import PHONE, TABLET

LAPTOP = {"width": 1280, "height": 800}
SHARE = 1500  # a vegetable share, each week


def _app(server):
    from webapp import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{server.instance / 'e2e.sqlite3'}",
            "SECRET_KEY": "e2e-secret",
        }
    )


@pytest.fixture
def amap(server):
    """A group of its own (the demo's days stay as they were), its people, a contract
    catalogue and 10 weekly distributions, the first in three days."""
    from webapp.extensions import db
    from webapp.models import Distribution, Place

    app = _app(server)
    now = datetime.now(UTC).replace(microsecond=0)
    with app.app_context():
        s = db.session
        group = factories.group(s, now=now, name="AMAP des Tilleuls")
        people = {
            who: factories.user(
                s,
                now=now,
                group=group,
                role=role,
                first_name=first,
                last_name=last,
                email=f"{who}@tilleuls.test",
            )
            for who, role, first, last in [
                ("coordinator", "coordinator", "Claire", "Coord"),
                ("alice", "member", "Alice", "Aubry"),
                ("bob", "member", "Bob", "Blanc"),
                ("chloe", "member", "Chloé", "Caron"),
            ]
        }
        catalogue = factories.catalogue(s, group=group, name="Légumes AMAP")
        factories.product(s, catalogue=catalogue, name="Panier de légumes", price_cents=SHARE)
        place = Place(group_id=group.id, name="Salle des fêtes")
        s.add(place)
        s.flush()
        days = []
        for week in range(10):
            starts = now + timedelta(days=3, hours=2) + week * timedelta(days=7)
            d = Distribution(
                group_id=group.id,
                place_id=place.id,
                starts_at=starts,
                ends_at=starts + timedelta(hours=2),
                orders_open_at=now - timedelta(days=1),
                orders_close_at=starts - timedelta(days=1),
            )
            s.add(d)
            days.append(d)
        s.commit()
        ids = {
            "group": group.id,
            "catalogue": catalogue.id,
            "days": [d.id for d in days],
            **{who: u.id for who, u in people.items()},
        }
        db.engine.dispose()
    return ids


def _login(context, who: str):
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("E-mail").fill(f"{who}@tilleuls.test")
    page.get_by_label("Mot de passe").fill(factories.PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/")
    return page


def _local(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo("Europe/Paris")).strftime("%Y-%m-%dT%H:%M")


def _sign_up(page, contract_id: int, *, partner: str | None, instalments: str):
    page.goto("/contracts/")
    page.get_by_role("button", name="S'inscrire").click()
    expect(page.locator("#f-dates")).to_have_value("10")
    if partner:
        page.locator("#f-partner").select_option(label=partner)
        page.get_by_label("Une semaine sur deux").check()
    page.locator("#f-instalments").select_option(instalments)
    page.get_by_role("button", name="S'inscrire").click()
    expect(page.locator("#subscription-state")).to_contain_text("en attente de validation")


def _move_first_day_to_now(server, day_id: int):
    """A few days later: the first distribution is under way."""
    from webapp.extensions import db
    from webapp.models import Distribution

    app = _app(server)
    now = datetime.now(UTC)
    with app.app_context():
        d = db.session.get(Distribution, day_id)
        d.orders_open_at, d.orders_close_at = now - timedelta(days=8), now - timedelta(hours=3)
        d.starts_at, d.ends_at = now - timedelta(hours=1), now + timedelta(hours=1)
        db.session.commit()
        db.engine.dispose()


def _balances(server, ids) -> dict[str, int]:
    from webapp.extensions import db
    from webapp.services.ledger import balance_cents

    app = _app(server)
    with app.app_context():
        found = {
            who: balance_cents(db.session, group_id=ids["group"], user_id=ids[who])
            for who in ("alice", "bob", "chloe")
        }
        db.engine.dispose()
    return found


def test_contract_season_on_the_same_days_sheets_and_tablet(browser, base_url, server, amap):
    laptop = browser.new_context(viewport=LAPTOP, base_url=base_url, locale="fr-FR")
    coordinator = _login(laptop, "coordinator")
    # The coordinator sets the contract up.
    coordinator.goto(f"/contracts/new?catalogue={amap['catalogue']}")
    coordinator.get_by_label("Nom", exact=True).fill("Légumes 2027")
    coordinator.get_by_label("Panier de légumes").fill("1")
    boxes = coordinator.locator("input[name=distributions]")
    expect(boxes).to_have_count(10)
    for i in range(10):
        boxes.nth(i).check()
    now = datetime.now(UTC)
    coordinator.get_by_label("Ouverture des inscriptions").fill(_local(now - timedelta(hours=1)))
    coordinator.get_by_label("Clôture des inscriptions").fill(_local(now + timedelta(days=1)))
    coordinator.get_by_label("Nombre minimum de distributions").fill("4")
    coordinator.get_by_label("Absences permises").fill("2")
    coordinator.locator("#f-instalments").fill("1,3")
    coordinator.get_by_label("Chèques à l'ordre de").fill("EARL du Pré")
    coordinator.get_by_role("button", name="Créer le contrat").click()
    expect(coordinator.get_by_text("Contrat créé.")).to_be_visible()
    contract_id = int(coordinator.url.rstrip("/").split("/")[-1])

    # Two members sign up on their phones; Alice shares with Bob, alternate weeks.
    phone_a = browser.new_context(
        viewport=PHONE, base_url=base_url, locale="fr-FR", has_touch=True, is_mobile=True
    )
    alice = _login(phone_a, "alice")
    _sign_up(alice, contract_id, partner="Blanc Bob", instalments="3")
    expect(alice.locator("#contract-total")).to_contain_text("75,00")
    expect(alice.locator(".contract-schedule tbody tr")).to_have_count(6)  # 3 each
    expect(alice.locator(".contract-dates li")).to_have_count(10)
    phone_c = browser.new_context(
        viewport=PHONE, base_url=base_url, locale="fr-FR", has_touch=True, is_mobile=True
    )
    chloe = _login(phone_c, "chloe")
    _sign_up(chloe, contract_id, partner=None, instalments="1")
    expect(chloe.locator("#contract-total")).to_contain_text("150,00")
    chloe_page = chloe.url

    # The coordinator validates both subscriptions.
    coordinator.goto(f"/contracts/{contract_id}")
    for _ in range(2):
        coordinator.locator("#subscribers").get_by_role("button", name="Valider").first.click()
        expect(coordinator.get_by_text("Inscription validée")).to_be_visible()
    expect(coordinator.locator("#subscribers").get_by_text("validé")).to_have_count(2)

    # Chloé will be away on the first date; her basket is not prepared.
    chloe.goto(chloe_page)
    chloe.get_by_role("button", name="Je serai absent").first.click()
    expect(chloe.get_by_text("Absence enregistrée.")).to_be_visible()
    expect(chloe.locator(".contract-dates li").first).to_contain_text("absent")
    chloe.screenshot(path=str(server.instance / "contract-phone.png"), full_page=True)

    # Her cheque is received (with its number), then cashed.
    coordinator.goto(f"/contracts/{contract_id}#payments")
    row = coordinator.locator("#payments tr", has_text="Caron Chloé")
    row.get_by_label("Numéro de chèque").fill("7654321")
    row.get_by_role("button", name="Reçu").click()
    expect(coordinator.get_by_text("Paiement reçu.")).to_be_visible()
    coordinator.locator("#payments tr", has_text="Caron Chloé").get_by_role(
        "button", name="Encaissé"
    ).click()
    expect(coordinator.locator("#payments tr", has_text="Caron Chloé")).to_contain_text(
        "chèque n° 7654321"
    )
    shares = coordinator.locator("#shares tbody tr")
    expect(shares.first).to_contain_text("1")  # Alice's share only: Chloé is away
    expect(shares.nth(1)).to_contain_text("2")  # Bob's and Chloé's

    # The first day comes: the sign-in sheet, the tablet and validation show Alice only.
    first, second = amap["days"][:2]
    _move_first_day_to_now(server, first)
    coordinator.goto(f"/distributions/{first}/signin")
    sheet = coordinator.locator("body")
    expect(sheet).to_contain_text("Aubry Alice")
    expect(sheet).to_contain_text("Lignes de contrat : Panier de légumes")
    expect(sheet).not_to_contain_text("Caron")
    coordinator.goto(f"/distributions/{second}/signin")
    expect(coordinator.locator(".member-block")).to_have_count(2)
    expect(coordinator.locator("body")).to_contain_text("Blanc Bob")

    tablet = browser.new_context(viewport=TABLET, base_url=base_url, locale="fr-FR")
    tablet_page = _login(tablet, "coordinator")
    tablet_page.goto(f"/distributions/{first}/sheet")
    tablet_page.wait_for_selector("body[data-ready=true]")
    expect(tablet_page.locator(".basket-row")).to_have_count(1)
    expect(tablet_page.locator(".basket-row")).to_contain_text("Alice")
    snapshot = tablet_page.request.get(f"/api/distributions/{first}/sheet").json()
    (basket,) = snapshot["baskets"]
    assert [(ln["product"], ln["contract"]) for ln in basket["lines"]] == [
        ("Panier de légumes", True)
    ]
    assert basket["due_cents"] == 0  # paid with the contract, never twice

    coordinator.goto(f"/distributions/{first}/validation")
    expect(coordinator.locator("body")).to_contain_text("Aubry Alice")
    expect(coordinator.locator("body")).not_to_contain_text("Caron Chloé")
    coordinator.get_by_role("button", name="Valider la distribution").click()
    expect(coordinator.get_by_text("Distribution validée")).to_be_visible()
    expect(coordinator.locator("body")).to_contain_text("Aubry Alice 0,00")

    # The books: each one's part debited at validation, Chloé's absence given back,
    # her cheque received.
    assert _balances(server, amap) == {
        "alice": -5 * SHARE,
        "bob": -5 * SHARE,
        "chloe": -10 * SHARE + SHARE + 10 * SHARE,
    }
    for context in (laptop, phone_a, phone_c, tablet):
        context.close()
