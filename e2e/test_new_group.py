"""A new group in an evening: a person signs up while creating a group, imports 30
members from a CSV, and one of them follows the e-mailed invitation and lands in the group."""

import re
import sqlite3

from playwright.sync_api import expect

from .conftest import PHONE, watch_console

LAPTOP = {"width": 1280, "height": 800}


def _members_csv(path) -> None:
    lines = ["Prénom;Nom;Courriel;Téléphone"]
    lines += [f"Prénom{n};Nom{n};membre{n}@canal.test;06 10 00 00 {n:02d}" for n in range(30)]
    path.write_text("\n".join(lines), encoding="utf-8")


def test_new_group_imports_members_and_one_joins(browser, base_url, server, tmp_path):
    console: list = []
    founder = browser.new_context(viewport=LAPTOP, base_url=base_url, locale="fr-FR")
    page = founder.new_page()
    watch_console(page, console)
    page.goto("/groups/new")
    page.get_by_label("Nom du groupe").fill("AMAP du Canal")
    page.get_by_label("Lieu des distributions").fill("Halle du Canal")
    page.get_by_label("Prénom").fill("Inès")
    page.get_by_label("Nom", exact=True).fill("Garnier")
    page.get_by_label("E-mail").fill("ines@canal.test")
    page.get_by_label("Mot de passe").fill("un mot de passe long")
    page.get_by_role("button", name="Créer le groupe").click()
    expect(
        page.get_by_text("AMAP du Canal est créé : vous en êtes le coordinateur.")
    ).to_be_visible()
    expect(page.get_by_role("heading", name="Prochaines étapes pour votre groupe")).to_be_visible()

    page.get_by_role("link", name="Faites venir vos membres").click()
    page.get_by_role("button", name="Importer une liste (CSV)").click()
    csv_path = tmp_path / "membres.csv"
    _members_csv(csv_path)
    page.get_by_label("Fichier CSV").set_input_files(str(csv_path))
    page.get_by_role("button", name="Aperçu").click()
    invite = page.get_by_role("button", name="Inviter 30 personnes par e-mail")
    expect(invite).to_be_visible()
    invite.click()
    expect(page.get_by_text("30 invitations préparées")).to_be_visible()

    with sqlite3.connect(server.instance / "e2e.sqlite3") as db:
        rows = db.execute(
            "SELECT email, url, body FROM outbox_messages WHERE kind = 'invitation'"
            " AND email LIKE '%@canal.test' ORDER BY id"
        ).fetchall()
    assert len(rows) == 30
    email, url, body = rows[7]
    assert email == "membre7@canal.test" and url in body and "Bonjour Prénom7," in body

    member = browser.new_context(viewport=PHONE, base_url=base_url, locale="fr-FR")
    phone = member.new_page()
    watch_console(phone, console)
    phone.goto(url)
    expect(phone.get_by_role("heading", name="Rejoindre AMAP du Canal")).to_be_visible()
    phone.get_by_label("Prénom").fill("Léo")
    phone.get_by_label("Nom", exact=True).fill("Martin")
    phone.get_by_label("Mot de passe").fill("un autre mot de passe")
    phone.get_by_role("button", name="Rejoindre le groupe").click()
    expect(phone.get_by_text("Bienvenue dans AMAP du Canal !")).to_be_visible()
    expect(phone.locator(".group-name")).to_have_text("AMAP du Canal")

    page.goto("/members/")
    expect(page.get_by_role("cell", name="membre7@canal.test")).to_be_visible()
    expect(
        page.get_by_role("heading", name=re.compile("29 invitations sans réponse"))
    ).to_be_visible()
    assert console == []
    founder.close()
    member.close()
