"""A coordinator on a laptop runs a cycle: a new distribution with two catalogues, a member
orders, the summary after the close, a product switched off and removed, the PDF sheet."""

import io
import re
import sqlite3
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect
from pypdf import PdfReader

from .conftest import login

LAPTOP = {"width": 1280, "height": 800}


def test_coordinator_cycle(browser, base_url, server):
    coordinator = browser.new_context(viewport=LAPTOP, base_url=base_url, locale="fr-FR")
    page = coordinator.new_page()
    login(page, "coordinator@demo.test")
    page.goto("/distributions/new")
    page.get_by_label("Fromages et laitages").uncheck()
    page.get_by_label("Viandes et volailles").uncheck()
    expect(page.get_by_label("Légumes de saison")).to_be_checked()
    expect(page.get_by_label("Pains au levain")).to_be_checked()
    day = (datetime.now(UTC) + timedelta(days=20)).strftime("%Y-%m-%d")
    opens = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("Début").fill(f"{day}T18:00")
    page.get_by_label("Fin").fill(f"{day}T20:00")
    page.get_by_label("Ouverture des commandes").fill(opens)
    page.get_by_label("Fermeture des commandes").fill(f"{day}T08:00")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_text("1 distribution créée.")).to_be_visible()
    with sqlite3.connect(server.instance / "e2e.sqlite3") as db:
        distribution_id = db.execute("SELECT max(id) FROM distributions").fetchone()[0]

    member = browser.new_context(
        viewport={"width": 390, "height": 844}, base_url=base_url, locale="fr-FR"
    )
    shop = member.new_page()
    login(shop, "member@demo.test")
    shop.goto(f"/distributions/{distribution_id}/shop")
    expect(shop.get_by_role("heading", name="Fromagerie du Vexin")).to_have_count(0)
    for name in ("Poireaux", "Pain complet"):
        before = shop.locator("#basket-bar strong").inner_text()
        shop.get_by_role("button", name=f"Un de plus : {name}").click()
        expect(shop.locator("#basket-bar strong")).not_to_have_text(before)

    with sqlite3.connect(server.instance / "e2e.sqlite3") as db:  # the close passes
        past = (datetime.now(UTC) - timedelta(minutes=1)).replace(tzinfo=None).isoformat(sep=" ")
        db.execute(
            "UPDATE distributions SET orders_close_at = ? WHERE id = ?", (past, distribution_id)
        )

    page.goto(f"/distributions/{distribution_id}/summary")
    summary = page.locator(
        "section.purchase-order",
        has=page.get_by_role("heading", name=re.compile("Ferme des Quatre Saisons")),
    )
    expect(summary.get_by_role("cell", name="Poireaux")).to_be_visible()

    page.goto("/catalogues/")
    page.get_by_role("link", name="Légumes de saison").click()
    page.get_by_label("Sélectionner Poireaux").check()
    page.get_by_role("button", name="Désactiver la sélection").click()
    expect(page.get_by_text("1 produit désactivé.")).to_be_visible()

    page.goto(f"/distributions/{distribution_id}/orders")
    expect(page.get_by_text("1 ligne d’un produit indisponible")).to_be_visible()
    expect(page.locator("li.unavailable", has_text="Poireaux")).to_be_visible()
    # a destructive action: first what it will do, then the button
    page.locator("summary", has_text="Retirer les produits indisponibles des commandes").click()
    expect(page.get_by_text("chaque membre le voit sur son reçu")).to_be_visible()
    page.get_by_role("button", name="Les retirer maintenant").click()
    expect(
        page.get_by_text("1 ligne d’un produit indisponible retirée des commandes.")
    ).to_be_visible()

    page.goto(f"/distributions/{distribution_id}/signin")
    with page.expect_download() as download_info:
        page.evaluate(
            "(href) => { const a = document.createElement('a'); a.href = href; a.download = 'x.pdf'; document.body.appendChild(a); a.click(); }",
            f"/distributions/{distribution_id}/signin.pdf",
        )
    data = open(download_info.value.path(), "rb").read()
    assert data.startswith(b"%PDF")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    assert "Lefebvre Marie" in text and "Pain complet" in text and "Poireaux" not in text

    with sqlite3.connect(server.instance / "e2e.sqlite3") as db:  # leave the demo as it was
        db.execute("UPDATE products SET active = 1 WHERE name = 'Poireaux'")
    coordinator.close()
    member.close()


def test_coordinator_validates_yesterday_and_the_member_sees_the_balance(browser, base_url, server):
    with sqlite3.connect(server.instance / "e2e.sqlite3") as db:
        distribution_id = db.execute(
            "SELECT id FROM distributions WHERE ends_at < datetime('now') AND validated_at IS NULL"
        ).fetchone()[0]
        events = db.execute(
            "SELECT count(*) FROM sheet_events WHERE distribution_id = ?", (distribution_id,)
        ).fetchone()[0]
    assert events > 0  # the demo tablet recorded yesterday's pickups and payments

    member = browser.new_context(
        viewport={"width": 390, "height": 844}, base_url=base_url, locale="fr-FR"
    )
    phone = member.new_page()
    login(phone, "member@demo.test")
    before = phone.locator(".balance-card .balance").inner_text()

    coordinator = browser.new_context(viewport=LAPTOP, base_url=base_url, locale="fr-FR")
    page = coordinator.new_page()
    login(page, "coordinator@demo.test")
    page.goto("/")
    page.get_by_role("link", name="Valider").first.click()
    expect(page.get_by_role("heading", name=re.compile("Validation"))).to_be_visible()
    row = page.locator("tr", has=page.get_by_role("cell", name="Lefebvre Marie"))
    row.get_by_text("Corriger").click()
    due = row.locator("td").nth(2).inner_text()
    paid = row.locator("td").nth(3).inner_text().split("\n")[0]
    row.get_by_role("textbox", name="Paiement", exact=True).fill(
        due.replace("\u202f", "").replace("\xa0€", "").replace(" €", "")
    )
    if paid.startswith("0,00"):
        row.get_by_role("button", name="Enregistrer le paiement").click()
    else:  # already paid on the tablet: record a 1 € extra to see it in the balance
        row.get_by_role("textbox", name="Paiement", exact=True).fill("1,00")
        row.get_by_role("button", name="Enregistrer le paiement").click()
    expect(page.get_by_text("Correction enregistrée.")).to_be_visible()
    page.get_by_role("button", name="Valider la distribution").click()
    expect(page.get_by_text(re.compile("Distribution validée"))).to_be_visible()

    phone.reload()
    after = phone.locator(".balance-card .balance").inner_text()
    assert after != before
    phone.goto("/account/history")
    expect(phone.get_by_role("heading", name="Historique de mon compte")).to_be_visible()
    coordinator.close()
    member.close()


def test_a_product_switched_off_for_one_week_only(browser, base_url, server):
    """Two weeks of a series: orders opened now from each offer page; Pain complet off and
    Pain de campagne (unlimited in the catalogue) down to 2 for the first week only; the
    member sees both weeks as set; orders of the second week closed now."""
    coordinator = browser.new_context(viewport=LAPTOP, base_url=base_url, locale="fr-FR")
    page = coordinator.new_page()
    login(page, "coordinator@demo.test")
    page.goto("/distributions/new")
    for name in ("Fromages et laitages", "Viandes et volailles", "Légumes de saison"):
        page.get_by_label(name).uncheck()
    day = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%d")
    opens = (datetime.now(UTC) + timedelta(days=20)).strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("Début").fill(f"{day}T18:00")
    page.get_by_label("Fin").fill(f"{day}T20:00")
    page.get_by_label("Ouverture des commandes").fill(opens)
    page.get_by_label("Fermeture des commandes").fill(f"{day}T08:00")
    page.get_by_label("Répéter").select_option("weekly")
    page.get_by_label("Nombre de distributions").fill("2")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_text("2 distributions créées.")).to_be_visible()
    with sqlite3.connect(server.instance / "e2e.sqlite3") as db:
        first, second = [
            row[0] for row in db.execute("SELECT id FROM distributions ORDER BY id DESC LIMIT 2")
        ][::-1]

    for week in (first, second):
        page.goto(f"/distributions/{week}/offer")
        page.get_by_role("button", name="Ouvrir les commandes maintenant").click()
        expect(page.get_by_text("Les commandes sont ouvertes")).to_be_visible()
        expect(page.get_by_role("button", name="Fermer les commandes maintenant")).to_be_visible()
    page.goto(f"/distributions/{first}/offer")
    page.get_by_label("Proposé : Pain complet").uncheck()
    page.get_by_label("Reste de Pain de campagne").fill("2")
    page.get_by_role("button", name="Enregistrer l’offre").click()
    expect(
        page.get_by_text("2 produits modifiés, pour cette distribution seulement.")
    ).to_be_visible()
    expect(page.locator("tr.unavailable", has_text="Pain complet")).to_be_visible()

    member = browser.new_context(
        viewport={"width": 390, "height": 844}, base_url=base_url, locale="fr-FR"
    )
    shop = member.new_page()
    login(shop, "member@demo.test")
    shop.goto(f"/distributions/{first}/shop")
    bread = shop.locator("li.product", has=shop.get_by_role("heading", name="Pain complet"))
    expect(bread.get_by_text("Indisponible")).to_be_visible()
    expect(bread.get_by_role("button")).to_have_count(0)
    campagne = shop.locator("li.product", has=shop.get_by_role("heading", name="Pain de campagne"))
    expect(campagne.get_by_text(re.compile(r"Reste\s*:\s*2"))).to_be_visible()

    shop.goto(f"/distributions/{second}/shop")
    bread = shop.locator("li.product", has=shop.get_by_role("heading", name="Pain complet"))
    expect(bread.get_by_text("Indisponible")).to_have_count(0)
    before = shop.locator("#basket-bar strong").inner_text()
    shop.get_by_role("button", name="Un de plus : Pain complet").click()
    expect(shop.locator("#basket-bar strong")).not_to_have_text(before)
    campagne = shop.locator("li.product", has=shop.get_by_role("heading", name="Pain de campagne"))
    expect(campagne.get_by_text(re.compile("Reste"))).to_have_count(0)
    expect(shop.get_by_role("button", name="Un de plus : Pain de campagne")).to_be_enabled()

    page.goto(f"/distributions/{second}/orders")
    page.get_by_role("button", name="Fermer les commandes maintenant").click()
    expect(page.get_by_text("Les commandes sont fermées")).to_be_visible()
    shop.reload()
    expect(
        shop.get_by_text("Les commandes sont fermées : votre panier ne peut plus changer.")
    ).to_be_visible()
    coordinator.close()
    member.close()
