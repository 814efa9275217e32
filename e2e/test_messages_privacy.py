"""Running the group between two distributions: a coordinator writes to the buyers of one
producer and a member reads it on a phone; a member downloads their data and deletes their
account, and the group's reports and balances stay the same to the cent."""

import csv
import io
import json
import re
import sqlite3
import zipfile
from datetime import UTC, datetime
from decimal import Decimal

from playwright.sync_api import expect
from sqlalchemy.orm import Session

from webapp import create_app
from webapp.extensions import db
from webapp.models import (
    Basket,
    Distribution,
    LedgerEntry,
    Membership,
    OrderLine,
    Product,
    User,
    distribution_catalogues,
)
from webapp.services.passwords import hash_password

from .conftest import login, watch_console

LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def _database(server):
    return sqlite3.connect(server.instance / "e2e.sqlite3")


def _a_producer_of(server, email: str) -> tuple[int, str, set[int]]:
    """A producer this member ordered from, and every member who did."""
    with _database(server) as con:
        producer_id, name = con.execute(
            "SELECT p.id, p.name FROM producers p JOIN catalogues c ON c.producer_id = p.id"
            " JOIN products pr ON pr.catalogue_id = c.id JOIN order_lines l ON l.product_id = pr.id"
            " JOIN baskets b ON b.id = l.basket_id JOIN users u ON u.id = b.user_id"
            " WHERE u.email = ? AND l.quantity > 0 ORDER BY p.id LIMIT 1",
            (email,),
        ).fetchone()
        buyers = {
            row[0]
            for row in con.execute(
                "SELECT DISTINCT b.user_id FROM baskets b JOIN order_lines l ON l.basket_id = b.id"
                " JOIN products pr ON pr.id = l.product_id JOIN catalogues c"
                " ON c.id = pr.catalogue_id JOIN memberships m ON m.user_id = b.user_id"
                " AND m.group_id = c.group_id WHERE c.producer_id = ? AND l.quantity > 0",
                (producer_id,),
            )
        }
    return producer_id, name, buyers


def test_coordinator_writes_to_the_buyers_of_one_producer_and_a_member_reads_it(
    browser, base_url, server, console_errors
):
    producer_id, producer, buyers = _a_producer_of(server, "member@demo.test")
    coordinator = browser.new_context(viewport=LAPTOP, base_url=base_url, locale="fr-FR")
    page = coordinator.new_page()
    watch_console(page, console_errors)
    login(page, "coordinator@demo.test")
    page.goto("/messages/")
    page.get_by_role("button", name="Écrire un message").click()
    page.get_by_label("À", exact=True).select_option(f"producer:{producer_id}")
    page.get_by_label("Objet").fill("Tomates en retard")
    page.get_by_label("Message").fill(
        "Bonjour,\nles tomates arrivent jeudi prochain. Détails : https://example.org/tomates"
    )
    page.get_by_role("button", name="Envoyer").click()
    expect(page.get_by_text(re.compile(r"Message envoyé à \d+ membres?\."))).to_be_visible()
    page.goto("/messages/sent")
    row = page.locator("#sent-messages tbody tr", has_text="Tomates en retard")
    expect(row).to_contain_text(f"Ceux qui ont commandé chez {producer}")
    expect(row.locator("td.num").first).to_have_text(str(len(buyers)))
    with _database(server) as con:
        message_id, count = con.execute(
            "SELECT id, recipients_count FROM messages WHERE subject = 'Tomates en retard'"
        ).fetchone()
        recipients = {
            r[0]
            for r in con.execute(
                "SELECT user_id FROM message_recipients WHERE message_id = ?", (message_id,)
            )
        }
        queued = {
            r[0]
            for r in con.execute(
                "SELECT user_id FROM outbox_messages WHERE ref = ? AND channel = 'email'",
                (f"message:{message_id}",),
            )
        }
    assert recipients == buyers == queued and count == len(buyers)

    member = browser.new_context(
        viewport=PHONE, base_url=base_url, locale="fr-FR", has_touch=True, is_mobile=True
    )
    phone = member.new_page()
    watch_console(phone, console_errors)
    login(phone, "member@demo.test")
    phone.get_by_role("link", name=re.compile("^Messages")).click()
    card = phone.locator("#inbox .card", has_text="Tomates en retard")
    expect(card.get_by_text("nouveau")).to_be_visible()
    card.get_by_role("link", name="Tomates en retard").click()
    body = phone.locator(".message-body")
    expect(body).to_contain_text("les tomates arrivent jeudi prochain")
    expect(body.get_by_role("link", name="https://example.org/tomates")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    phone.goto("/messages/")
    expect(
        phone.locator("#inbox .card", has_text="Tomates en retard").get_by_text("nouveau")
    ).to_have_count(0)
    assert console_errors == []
    coordinator.close()
    member.close()


def _a_settled_member(server) -> tuple[int, int]:
    """A member of the demo group with one validated basket, paid: a balance of zero."""
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{server.instance / 'e2e.sqlite3'}",
            "SECRET_KEY": "e2e-secret",
        }
    )
    with app.app_context():
        session = Session(bind=db.engine, expire_on_commit=False)
        now = datetime.now(UTC)
        day = session.query(Distribution).filter(Distribution.validated_at.isnot(None)).first()
        catalogue_id = (
            session.execute(
                distribution_catalogues.select().where(
                    distribution_catalogues.c.distribution_id == day.id
                )
            )
            .first()
            .catalogue_id
        )
        product = session.query(Product).filter_by(catalogue_id=catalogue_id).first()
        user = User(
            first_name="Zoé",
            last_name="Lemoine",
            email="zoe@e2e.test",
            phone="06 99 88 77 66",
            password_hash=hash_password("zoe-password-123"),
            created_at=now,
        )
        session.add(user)
        session.flush()
        session.add(
            Membership(user_id=user.id, group_id=day.group_id, role="member", created_at=now)
        )
        number = (
            max([b.number for b in session.query(Basket).filter_by(distribution_id=day.id)] or [0])
            + 1
        )
        basket = Basket(
            distribution_id=day.id,
            user_id=user.id,
            number=number,
            created_at=now,
            validated_at=day.validated_at,
        )
        session.add(basket)
        session.flush()
        line = OrderLine(
            basket_id=basket.id,
            product_id=product.id,
            quantity=Decimal(3),
            unit_price_cents=product.price_cents,
            vat_rate=product.vat_rate,
            updated_at=now,
        )
        session.add(line)
        session.flush()
        due = line.total_cents
        for kind, amount, method in (("order", -due, None), ("payment", due, "cash")):
            session.add(
                LedgerEntry(
                    group_id=day.group_id,
                    user_id=user.id,
                    distribution_id=day.id,
                    basket_id=basket.id,
                    kind=kind,
                    amount_cents=amount,
                    payment_method=method,
                    pending=False,
                    note="",
                    created_at=now,
                )
            )
        session.commit()
        ids = user.id, day.id
        session.close()
        db.engine.dispose()
    return ids


def _csv(context, path: str) -> list[list[str]]:
    response = context.request.get(path)
    assert response.ok, path
    return list(csv.reader(io.StringIO(response.text().lstrip("\ufeff")), delimiter=";"))


def _books(context, day_id: int, name: str):
    """The group's figures: the day's product summary, its validation (amounts), balances."""
    balances = _csv(context, "/members/balances?format=csv")
    others = [row for row in balances if name not in row[0]]
    mine = [row for row in balances if name in row[0]]
    total = sum(
        int(re.sub(r"\D", "", r[2]) or 0) * (-1 if "-" in r[2] else 1) for r in balances[1:]
    )
    validation = [
        row[:1] + row[2:] for row in _csv(context, f"/distributions/{day_id}/validation?format=csv")
    ]
    summary = _csv(context, f"/distributions/{day_id}/summary?format=csv")
    return others, mine, total, validation, summary


def test_a_member_exports_then_deletes_their_account_and_the_books_still_add_up(
    browser, base_url, server, console_errors
):
    user_id, day_id = _a_settled_member(server)
    coordinator = browser.new_context(viewport=LAPTOP, base_url=base_url, locale="fr-FR")
    login(coordinator.new_page(), "coordinator@demo.test")
    others, mine, total, validation, summary = _books(coordinator, day_id, "Lemoine")
    assert [row[2] for row in mine] == ["0,00"]

    member = browser.new_context(
        viewport=PHONE,
        base_url=base_url,
        locale="fr-FR",
        has_touch=True,
        is_mobile=True,
        accept_downloads=True,
    )
    page = member.new_page()
    watch_console(page, console_errors)
    login(page, "zoe@e2e.test", "zoe-password-123")
    page.goto("/privacy")
    with page.expect_download() as download:
        page.get_by_role("button", name="Télécharger mes données").click()
    archive = zipfile.ZipFile(download.value.path())
    data = json.loads(archive.read("court-circuit.json"))
    assert data["profile"][0]["email"] == "zoe@e2e.test"
    assert [line["quantity"] for line in data["order_lines"]] == ["3"]
    assert sum(e["amount_cents"] for e in data["ledger_entries"]) == 0
    assert "Lemoine" in archive.read("profile.csv").decode("utf-8-sig")

    page.get_by_role("link", name="Supprimer mon compte").click()
    page.get_by_label("Votre mot de passe, pour confirmer").fill("zoe-password-123")
    page.get_by_role("button", name="Supprimer mon compte").click()
    expect(page.get_by_text("Votre compte est supprimé.")).to_be_visible()
    assert console_errors == []
    # Signed out, and the password opens nothing any more (a refused login answers 400).
    page = member.new_page()
    page.goto("/login")
    page.get_by_label("E-mail").fill("zoe@e2e.test")
    page.get_by_label("Mot de passe").fill("zoe-password-123")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_text("E-mail inconnu ou mot de passe incorrect.")).to_be_visible()

    after_others, after_mine, after_total, after_validation, after_summary = _books(
        coordinator, day_id, "Lemoine"
    )
    assert after_mine == []  # no name left
    assert after_others == others and after_total == total
    assert after_validation == validation and after_summary == summary
    with _database(server) as con:
        name, email = con.execute(
            "SELECT first_name || last_name, email FROM users WHERE id = ?", (user_id,)
        ).fetchone()
        kept = con.execute(
            "SELECT sum(amount_cents), count(*) FROM ledger_entries WHERE user_id = ?", (user_id,)
        ).fetchone()
    assert "Lemoine" not in name and email.endswith("@erased.invalid")
    assert kept[0] == 0 and kept[1] == 2
    coordinator.close()
    member.close()


def test_the_privacy_page_reads_well_on_a_phone(browser, base_url):
    context = browser.new_context(viewport=PHONE, base_url=base_url, locale="fr-FR")
    page = context.new_page()
    page.goto("/privacy")
    expect(page.get_by_role("heading", name="Vos données et votre vie privée")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    context.close()
