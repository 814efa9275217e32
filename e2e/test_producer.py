"""A producer and a catalogue manager, as a group sets them up: the coordinator opens the
cheese catalogue to its producer and invites them by e-mail; the producer follows the
e-mailed link, lands on their producer page and changes a price from their phone. The
coordinator gives a member the meat catalogue; that member switches a product off."""

import sqlite3

from playwright.sync_api import expect

from .conftest import PHONE, login, watch_console

LAPTOP = {"width": 1280, "height": 800}


def _invitation_link(server, email: str) -> str:
    with sqlite3.connect(server.instance / "e2e.sqlite3") as db:
        row = db.execute(
            "SELECT url, body FROM outbox_messages WHERE kind = 'invitation' AND email = ?"
            " ORDER BY id DESC",
            (email,),
        ).fetchone()
    assert row, "no invitation queued"
    url, body = row
    assert url in body and "/join/" in url
    return url


def test_producer_accepts_and_changes_a_price_and_a_manager_switches_a_product_off(
    browser, base_url, server, tmp_path
):
    console: list = []
    coordinator = browser.new_context(viewport=LAPTOP, base_url=base_url, locale="fr-FR")
    page = coordinator.new_page()
    watch_console(page, console)
    login(page, "coordinator@demo.test")

    # the group opens its cheese catalogue to the producer
    page.goto("/catalogues/")
    page.get_by_role("link", name="Fromages et laitages").click()
    page.get_by_role("link", name="Réglages").click()
    page.get_by_label("Le producteur peut modifier les produits, les prix et le stock").check()
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_text("Catalogue Fromages et laitages enregistré.")).to_be_visible()

    # and invites the producer by e-mail
    page.goto("/catalogues/")
    page.get_by_role("link", name="Fromagerie du Vexin").click()
    page.get_by_label("E-mail", exact=True).fill("fromagerie@vexin.test")
    page.get_by_role("button", name="Inviter le producteur").click()
    expect(page.get_by_text("Invitation envoyée à fromagerie@vexin.test.")).to_be_visible()
    link = _invitation_link(server, "fromagerie@vexin.test")

    farm = browser.new_context(viewport=PHONE, base_url=base_url, locale="fr-FR", is_mobile=True)
    phone = farm.new_page()
    watch_console(phone, console)
    phone.goto(link)
    phone.get_by_label("Prénom").fill("Lucie")
    phone.get_by_label("Nom", exact=True).fill("Vexin")
    phone.get_by_label("Mot de passe").fill("un mot de passe long")
    phone.get_by_role("button", name="Ouvrir ma page producteur").click()
    expect(phone.get_by_role("heading", name="Ma page producteur")).to_be_visible()
    expect(phone.get_by_role("heading", name="Prochaines distributions")).to_be_visible()
    phone.screenshot(path=str(tmp_path / "producer-home.png"), full_page=True)

    phone.get_by_role("button", name="Modifier produits, prix et stock").click()
    phone.get_by_role("link", name="Lait cru entier").click()
    phone.get_by_label("Prix TTC (€)").fill("1,75")
    phone.get_by_role("button", name="Enregistrer").click()
    expect(phone.get_by_text("Produit Lait cru entier enregistré.")).to_be_visible()
    row = phone.get_by_role("row").filter(has_text="Lait cru entier")
    expect(row).to_contain_text("1,75")
    # the group's members, and the other catalogues, stay out of reach
    assert farm.request.get("/members/").status == 403
    phone.screenshot(path=str(tmp_path / "producer-catalogue.png"), full_page=True)

    # the coordinator gives the meat catalogue to a member
    page.goto("/catalogues/")
    page.get_by_role("link", name="Viandes et volailles").click()
    page.get_by_role("link", name="Réglages").click()
    page.get_by_label("Membre", exact=True).select_option(
        label="Mercier Paul · volunteer@demo.test"
    )
    page.get_by_role("button", name="Ajouter comme référent").click()
    expect(page.get_by_text("Paul Mercier gère Viandes et volailles.")).to_be_visible()

    helper = browser.new_context(viewport=PHONE, base_url=base_url, locale="fr-FR", is_mobile=True)
    manager = helper.new_page()
    watch_console(manager, console)
    login(manager, "volunteer@demo.test")
    manager.goto("/catalogues/")
    expect(
        manager.get_by_role("heading", name="Les catalogues dont je suis référent")
    ).to_be_visible()
    expect(manager.get_by_role("link", name="Fromages et laitages")).to_have_count(0)
    manager.get_by_role("link", name="Viandes et volailles").click()
    manager.get_by_label("Sélectionner Jus de pomme").check()
    manager.get_by_role("button", name="Désactiver la sélection").click()
    expect(manager.get_by_text("1 produit désactivé.")).to_be_visible()
    expect(manager.get_by_role("row").filter(has_text="Jus de pomme")).to_contain_text("Inactif")
    manager.screenshot(path=str(tmp_path / "manager-catalogue.png"), full_page=True)
    assert helper.request.get("/distributions/").status == 403

    assert console == []
    for context in (coordinator, farm, helper):
        context.close()
    print("screenshots in", tmp_path)
