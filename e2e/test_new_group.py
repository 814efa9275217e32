"""A new group's first evening, end to end (issue 12, item 7).

A person signs up while creating a group; adds a producer, their catalogue and three products,
lets the producer edit it and invites them; plans two weekly distributions and opens their
orders now; imports 30 members from a CSV. Two members follow the e-mailed invitation; the
founder makes one of them the catalogue's manager. The producer accepts their own invitation
and raises a price from their phone; the manager switches that product off for the first week
only. Members order on their phones: the product is unavailable in week 1 and sold in week 2
at the producer's new price, and the producer sees those orders.

Links the app e-mails are read from the queued `outbox_messages` rows of the e2e database."""

import re
import sqlite3
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from .conftest import PHONE, watch_console

LAPTOP = {"width": 1280, "height": 800}
GROUP = "AMAP du Canal"
PRODUCER = "Chèvrerie des Hauts"
CATALOGUE = "Fromages de chèvre"
PRODUCTS = {"Crottin frais": "2,40", "Tomme de chèvre": "6,50", "Faisselle": "1,80"}


def _members_csv(path) -> None:
    lines = ["Prénom;Nom;Courriel;Téléphone"]
    lines += [f"Prénom{n};Nom{n};membre{n}@canal.test;06 10 00 00 {n:02d}" for n in range(30)]
    path.write_text("\n".join(lines), encoding="utf-8")


def _query(server, sql: str, *args) -> list:
    with sqlite3.connect(server.instance / "e2e.sqlite3") as db:
        return db.execute(sql, args).fetchall()


def _invitation_link(server, email: str) -> str:
    rows = _query(
        server,
        "SELECT url, body FROM outbox_messages WHERE kind = 'invitation' AND email = ?"
        " ORDER BY id DESC",
        email,
    )
    assert rows, f"no invitation queued for {email}"
    url, body = rows[0]
    assert "/join/" in url and url in body
    return url


def _euros(text: str) -> re.Pattern:
    """A French amount as the page prints it: 7,20 € (with a narrow or non-breaking space)."""
    return re.compile(re.escape(text) + r"\s*€")


def _phone(browser, base_url, console):
    context = browser.new_context(
        viewport=PHONE, base_url=base_url, locale="fr-FR", has_touch=True, is_mobile=True
    )
    page = context.new_page()
    watch_console(page, console)
    return context, page


def _accept_invitation(page, first: str, last: str, button: str = "Rejoindre le groupe") -> None:
    """Fill the page an invitation link opened: a new account, then the button."""
    page.get_by_label("Prénom").fill(first)
    page.get_by_label("Nom", exact=True).fill(last)
    page.get_by_label("Mot de passe").fill(f"le mot de passe de {first}")
    page.get_by_role("button", name=button).click()


def _create_group(page) -> None:
    page.goto("/groups/new")
    page.get_by_label("Nom du groupe").fill(GROUP)
    page.get_by_label("Lieu des distributions").fill("Halle du Canal")
    page.get_by_label("Prénom").fill("Inès")
    page.get_by_label("Nom", exact=True).fill("Garnier")
    page.get_by_label("E-mail").fill("ines@canal.test")
    page.get_by_label("Mot de passe").fill("un mot de passe long")
    page.get_by_role("button", name="Créer le groupe").click()
    expect(
        page.get_by_text(f"Le groupe « {GROUP} » est créé : vous en êtes le coordinateur.")
    ).to_be_visible()
    expect(page.get_by_role("heading", name="Prochaines étapes pour votre groupe")).to_be_visible()


def _producer_and_catalogue(page, server) -> None:
    """A producer, their catalogue open to them, three products, and the producer invited."""
    page.get_by_role("link", name="Ajoutez vos producteurs et leurs catalogues").click()
    page.get_by_role("button", name="Nouveau producteur").click()
    page.get_by_label("Nom", exact=True).fill(PRODUCER)
    page.get_by_label("Métier").fill("chevrière")
    page.get_by_label("Commune").fill("Montreuil")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_text(f"Producteur {PRODUCER} enregistré.")).to_be_visible()

    page.get_by_role("button", name="Nouveau catalogue").click()
    page.get_by_label("Producteur", exact=True).select_option(label=PRODUCER)
    page.get_by_label("Nom", exact=True).fill(CATALOGUE)
    page.get_by_label("Le producteur peut modifier les produits, les prix et le stock").check()
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_text(f"Catalogue {CATALOGUE} enregistré.")).to_be_visible()

    for name, price in PRODUCTS.items():
        page.get_by_role("button", name="Nouveau produit").click()
        page.get_by_label("Nom", exact=True).fill(name)
        page.get_by_label("Prix TTC (€)").fill(price)
        page.get_by_role("button", name="Enregistrer").click()
        expect(page.get_by_text(f"Produit {name} enregistré.")).to_be_visible()
        expect(page.get_by_role("row").filter(has_text=name)).to_contain_text(price)

    page.get_by_role("link", name="Catalogues", exact=True).click()
    page.get_by_role("link", name=PRODUCER).click()
    page.get_by_label("E-mail", exact=True).fill("chevrerie@hauts.test")
    page.get_by_role("button", name="Inviter le producteur").click()
    expect(page.get_by_text("Invitation envoyée à chevrerie@hauts.test.")).to_be_visible()


def _two_weeks_open_now(page, server) -> tuple[int, int]:
    """A weekly series of two distributions whose orders the founder opens now."""
    page.get_by_role("link", name="Distributions", exact=True).click()
    page.get_by_role("button", name="Nouvelle distribution").click()
    day = (datetime.now(UTC) + timedelta(days=8)).strftime("%Y-%m-%d")
    opens = (datetime.now(UTC) + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("Début").fill(f"{day}T18:00")
    page.get_by_label("Fin").fill(f"{day}T20:00")
    page.get_by_label("Ouverture des commandes").fill(opens)
    page.get_by_label("Fermeture des commandes").fill(f"{day}T08:00")
    page.get_by_label("Répéter").select_option("weekly")
    page.get_by_label("Nombre de distributions").fill("2")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_text("2 distributions créées.")).to_be_visible()

    open_now = page.get_by_role("button", name="Ouvrir les commandes maintenant")
    expect(open_now).to_have_count(2)
    for left in (1, 0):
        open_now.first.click()
        expect(open_now).to_have_count(left)
    expect(page.get_by_role("button", name="Fermer les commandes maintenant")).to_have_count(2)

    weeks = _query(
        server,
        "SELECT d.id FROM distributions d JOIN groups g ON g.id = d.group_id"
        " WHERE g.name = ? ORDER BY d.starts_at",
        GROUP,
    )
    assert len(weeks) == 2
    return weeks[0][0], weeks[1][0]


def _import_members(page, server, tmp_path) -> list:
    # (the home page's guide is gone by now: it counts the producer's invitation as members')
    page.get_by_role("link", name="Membres", exact=True).click()
    page.get_by_role("button", name="Importer une liste (CSV)").click()
    csv_path = tmp_path / "membres.csv"
    _members_csv(csv_path)
    page.get_by_label("Fichier CSV").set_input_files(str(csv_path))
    page.get_by_role("button", name="Aperçu").click()
    invite = page.get_by_role("button", name="Inviter 30 personnes par e-mail")
    expect(invite).to_be_visible()
    invite.click()
    expect(page.get_by_text("30 invitations préparées")).to_be_visible()

    rows = _query(
        server,
        "SELECT email, url, body FROM outbox_messages WHERE kind = 'invitation'"
        " AND email LIKE '%@canal.test' ORDER BY id",
    )
    assert len(rows) == 30
    return rows


def test_a_new_group_first_evening(browser, base_url, server, tmp_path):
    console: list = []
    founder = browser.new_context(viewport=LAPTOP, base_url=base_url, locale="fr-FR")
    page = founder.new_page()
    watch_console(page, console)

    # the founder creates the group, its producer, catalogue and products, and the weeks
    _create_group(page)
    _producer_and_catalogue(page, server)
    producer_link = _invitation_link(server, "chevrerie@hauts.test")
    first, second = _two_weeks_open_now(page, server)
    (catalogue_id,) = _query(
        server,
        "SELECT c.id FROM catalogues c JOIN groups g ON g.id = c.group_id WHERE g.name = ?",
        GROUP,
    )[0]

    # 30 members by the list; two follow their e-mailed invitation on their phones
    rows = _import_members(page, server, tmp_path)
    email, leo_link, body = rows[7]
    assert email == "membre7@canal.test" and leo_link in body and "Bonjour Prénom7," in body
    leo_context, leo = _phone(browser, base_url, console)
    leo.goto(leo_link)
    expect(leo.get_by_role("heading", name=f"Rejoindre {GROUP}")).to_be_visible()
    _accept_invitation(leo, "Léo", "Martin")
    expect(leo.get_by_text(f"Bienvenue dans {GROUP} !")).to_be_visible()
    expect(leo.locator(".group-name")).to_have_text(GROUP)

    email, chloe_link, _ = rows[12]
    assert email == "membre12@canal.test"
    chloe_context, chloe = _phone(browser, base_url, console)
    chloe.goto(chloe_link)
    _accept_invitation(chloe, "Chloé", "Roux")
    expect(chloe.get_by_text(f"Bienvenue dans {GROUP} !")).to_be_visible()

    page.get_by_role("link", name="Membres", exact=True).click()
    expect(page.get_by_role("cell", name="membre7@canal.test")).to_be_visible()
    expect(
        page.get_by_role("heading", name=re.compile("28 invitations sans réponse"))
    ).to_be_visible()

    # the founder makes Léo the catalogue's manager
    page.get_by_role("link", name="Catalogues", exact=True).click()
    page.get_by_role("link", name=CATALOGUE).click()
    page.get_by_role("link", name="Réglages").click()
    page.get_by_label("Membre", exact=True).select_option(label="Martin Léo · membre7@canal.test")
    page.get_by_role("button", name="Ajouter comme référent").click()
    expect(page.get_by_text(f"Léo Martin gère {CATALOGUE}.")).to_be_visible()

    # the producer accepts their invitation and raises a price from their phone
    farm_context, farm = _phone(browser, base_url, console)
    farm.goto(producer_link)
    expect(farm.get_by_role("heading", name=f"Votre page producteur avec {GROUP}")).to_be_visible()
    _accept_invitation(farm, "Marion", "Hauts", button="Ouvrir ma page producteur")
    expect(farm.get_by_role("heading", name="Ma page producteur")).to_be_visible()
    expect(farm.locator(f"#day-{first}-{catalogue_id}")).to_be_visible()
    expect(farm.locator(f"#day-{second}-{catalogue_id}")).to_be_visible()
    farm.get_by_role("button", name="Modifier produits, prix et stock").click()
    farm.get_by_role("link", name="Tomme de chèvre").click()
    farm.get_by_label("Prix TTC (€)").fill("7,20")
    farm.get_by_role("button", name="Enregistrer").click()
    expect(farm.get_by_text("Produit Tomme de chèvre enregistré.")).to_be_visible()
    expect(farm.get_by_role("row").filter(has_text="Tomme de chèvre")).to_contain_text("7,20")

    # the manager switches the tomme off for the first week only, from their catalogue's days
    leo.get_by_role("link", name="Accueil", exact=True).click()  # the menu now has his catalogues
    leo.get_by_role("link", name="Mes catalogues").click()
    expect(leo.get_by_role("heading", name="Les catalogues dont je suis référent")).to_be_visible()
    leo.get_by_role("link", name=CATALOGUE).click()
    leo.get_by_role("link", name="Commandes et récapitulatifs").click()
    week_one = leo.locator(f"#day-{first}-{catalogue_id}")
    week_one.get_by_role("link", name="Offre de cette distribution").click()
    leo.get_by_label("Proposé : Tomme de chèvre").uncheck()
    leo.get_by_role("button", name="Enregistrer l’offre").click()
    expect(leo.get_by_text("1 produit modifié, pour cette distribution seulement.")).to_be_visible()
    expect(leo.get_by_role("row").filter(has_text="Tomme de chèvre")).to_contain_text(
        "Indisponible"
    )
    expect(leo.get_by_role("row").filter(has_text="Crottin frais")).not_to_contain_text(
        "Indisponible"
    )
    leo.screenshot(path=str(tmp_path / "manager-offer.png"), full_page=True)

    # members order on their phones: no tomme in week 1, the tomme at 7,20 € in week 2
    def shop(phone, week):
        phone.get_by_role("link", name="Accueil", exact=True).click()
        phone.locator(f"#distribution-{week}").get_by_role(
            "button", name="Commander", exact=True
        ).click()
        expect(phone).to_have_url(re.compile(f"/distributions/{week}/shop$"))

    def product(phone, name):
        return phone.get_by_role("listitem").filter(has=phone.get_by_role("heading", name=name))

    basket = leo.locator("#basket-bar strong")
    shop(leo, first)
    expect(product(leo, "Tomme de chèvre").get_by_text("Indisponible")).to_be_visible()
    expect(product(leo, "Tomme de chèvre").get_by_role("button")).to_have_count(0)
    leo.get_by_role("button", name="Un de plus : Crottin frais").click()
    expect(basket).to_have_text(_euros("2,40"))

    shop(leo, second)
    tomme = product(leo, "Tomme de chèvre")
    expect(tomme.get_by_text("Indisponible")).to_have_count(0)
    expect(tomme.get_by_text(_euros("7,20"))).to_be_visible()
    leo.get_by_role("button", name="Un de plus : Tomme de chèvre").click()
    expect(basket).to_have_text(_euros("7,20"))
    leo.screenshot(path=str(tmp_path / "member-week-2.png"), full_page=True)

    shop(chloe, second)
    for total in ("7,20", "14,40"):
        chloe.get_by_role("button", name="Un de plus : Tomme de chèvre").click()
        expect(chloe.locator("#basket-bar strong")).to_have_text(_euros(total))
    shop(chloe, first)
    expect(product(chloe, "Tomme de chèvre").get_by_text("Indisponible")).to_be_visible()

    # the producer sees the orders of each week on their page
    farm.get_by_role("link", name="Ma page producteur").click()
    week_two = farm.locator(f"#day-{second}-{catalogue_id}")
    expect(week_two).to_contain_text("2 commandes")
    expect(week_two.locator(".order-total")).to_have_text(_euros("21,60"))
    expect(farm.locator(f"#day-{first}-{catalogue_id}")).to_contain_text("1 commande")

    assert console == []
    for context in (founder, leo_context, chloe_context, farm_context):
        context.close()
    print("screenshots in", tmp_path)
