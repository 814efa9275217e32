"""Language choice and French formatting."""

from decimal import Decimal

from babel.messages.pofile import read_po
from flask_babel import force_locale

from webapp.web.filters import money, quantity

from . import factories


def test_english_browser_gets_english(client):
    html = client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(
        as_text=True
    )
    assert "Log in" in html and '<html lang="en">' in html


def test_default_is_french(client):
    html = client.get("/login").get_data(as_text=True)
    assert "Se connecter" in html and '<html lang="fr">' in html


def test_user_setting_wins_over_the_browser(client, auth, session, now):
    group = factories.group(session, now=now)
    factories.user(session, now=now, group=group, email="en@example.test", locale="en")
    auth.login("en@example.test")
    html = client.get("/", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "My balance" in html


def test_language_switch_is_remembered(client, post):
    post("/lang", {"lang": "en"}, token_from="/login")
    assert "Log in" in client.get("/login").get_data(as_text=True)


def test_money_in_french_and_english(app):
    with app.test_request_context():
        with force_locale("fr"):
            assert money(123450) == "1\u202f234,50\xa0€"
            assert quantity(Decimal("1.500")) == "1,5"
        with force_locale("en"):
            assert money(123450) == "€1,234.50"


def test_catalogues_are_complete():
    for lang in ("fr", "en"):
        with open(f"webapp/translations/{lang}/LC_MESSAGES/messages.po", "rb") as fh:
            catalogue = read_po(fh)
        missing = [m.id for m in catalogue if m.id and (not m.string or m.fuzzy)]
        assert missing == [], f"{lang}: untranslated {missing[:5]}"
    with open("webapp/translations/messages.pot", "rb") as fh:
        template_ids = {m.id for m in read_po(fh) if m.id}
    with open("webapp/translations/fr/LC_MESSAGES/messages.po", "rb") as fh:
        fr_ids = {m.id for m in read_po(fh) if m.id}
    assert template_ids <= fr_ids, f"run make translations: {sorted(template_ids - fr_ids)[:5]}"


def test_translations_keep_their_placeholders():
    import re

    placeholder = re.compile(r"%\((\w+)\)[sd]")
    with open("webapp/translations/fr/LC_MESSAGES/messages.po", "rb") as fh:
        for m in read_po(fh):
            if not m.id:
                continue
            ids = m.id if isinstance(m.id, tuple) else (m.id,)
            strings = m.string if isinstance(m.string, tuple) else (m.string,)
            wanted = set(placeholder.findall(ids[-1]))
            for s in strings:
                found = set(placeholder.findall(s))
                if isinstance(m.id, tuple):  # a singular form may say "un" instead of the count
                    assert wanted - {"num"} <= found <= wanted, (m.id, s)
                else:
                    assert found == wanted, (m.id, s)
