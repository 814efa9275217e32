"""Every main page of every persona, in French and in English: no code reaches a person.

The demo group is crawled as its four personas would browse it (every link of the
menu and of the pages it leads to, two clicks deep). A French page must not show an
English word from the list of known codes (payment methods, units, ledger kinds), an
English page must not show a decimal comma ("4,5", "36,60").
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from sqlalchemy import select

from webapp.models import User
from webapp.services.demo import DEMO_PASSWORD, seed_demo

PERSONAS = ("coordinator", "member", "volunteer", "producer")
# Codes that once reached people: payment methods, units, ledger kinds, states.
CODES = (
    "cash",
    "cheque",
    "card",
    "transfer",
    "balance",
    "piece",
    "bunch",
    "tray",
    "jar",
    "bottle",
    "dozen",
    "order",
    "payment",
    "refund",
    "adjustment",
    "membership",
    "open",
    "closed",
    "scheduled",
    "validated",
    "cancelled",
    "not_taken",
    "taken",
    "yes",
    "no",
)
FRENCH_BAD = re.compile(r"(?<![\w@./-])(" + "|".join(CODES) + r")(?![\w@./-])", re.IGNORECASE)
# A decimal comma: digits, a comma, one or two digits (English thousands have three).
DECIMAL_COMMA = re.compile(r"\d,\d{1,2}(?!\d)")
SKIP = re.compile(r"/logout|/lang|\.pdf|format=|/export|/sw\.js|/static/|/photos?/|/push/|/tablet")


class _Page(HTMLParser):
    """The text a person reads (not scripts, styles, nor data attributes) and the links."""

    def __init__(self):
        super().__init__()
        self.text: list[str] = []
        self.links: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "style", "template"):
            self._skip += 1
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "input" and attrs.get("type") not in ("hidden", "checkbox", "radio"):
            self.text.append(attrs.get("value") or "")
        for name in ("title", "aria-label", "placeholder", "alt"):
            if attrs.get(name):
                self.text.append(attrs[name])

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def _read(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def crawl(client, start: str = "/", depth: int = 2, limit: int = 60) -> dict[str, str]:
    """Same-site pages reachable from `start` in `depth` clicks: {path: html}."""
    seen: dict[str, str] = {}
    frontier = [start]
    for _ in range(depth + 1):
        following = []
        for path in frontier:
            if path in seen or len(seen) >= limit:
                continue
            response = client.get(path, follow_redirects=True)
            if response.status_code != 200 or "text/html" not in response.content_type:
                seen[path] = ""
                continue
            html = response.get_data(as_text=True)
            seen[path] = html
            for href in _read(html).links:
                target = urlsplit(urljoin("http://localhost" + path, href))
                if target.netloc not in ("localhost", "") or SKIP.search(href):
                    continue
                following.append(target.path + (f"?{target.query}" if target.query else ""))
        frontier = following
    return {path: html for path, html in seen.items() if html}


def problems(html: str, lang: str) -> list[str]:
    text = " ".join(" ".join(_read(html).text).split())
    pattern = FRENCH_BAD if lang == "fr" else DECIMAL_COMMA
    found = []
    for match in pattern.finditer(text):
        found.append(text[max(0, match.start() - 40) : match.end() + 40])
    return sorted(set(found))[:3]


@pytest.fixture
def demo(app, session, now):
    with app.app_context():
        assert seed_demo(session, now=now) is True
    session.commit()
    return session


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("persona", PERSONAS)
def test_pages_speak_the_readers_language(demo, client, auth, persona, lang):
    user = demo.scalar(select(User).where(User.email == f"{persona}@demo.test"))
    user.locale = lang
    demo.commit()
    auth.login(user.email, DEMO_PASSWORD)
    pages = crawl(client)
    assert len(pages) >= 3, sorted(pages)
    found = {path: p for path, html in pages.items() if (p := problems(html, lang))}
    assert found == {}, f"{persona} ({lang}): {found}"


def test_csv_follows_the_readers_language_and_codes_serve_programs(demo, client, auth):
    from webapp.models import Distribution

    coordinator = demo.scalar(select(User).where(User.email == "coordinator@demo.test"))
    d = demo.scalars(select(Distribution).order_by(Distribution.starts_at)).first()
    auth.login(coordinator.email, DEMO_PASSWORD)
    path = f"/distributions/{d.id}/summary?format=csv"

    def rows(url):
        text = client.get(url).get_data(as_text=True).lstrip("\ufeff")
        return [line.split(";") for line in text.splitlines()]

    french = rows(path)
    assert french[0][:3] == ["Producteur", "Produit", "Quantité"]
    assert any(r[3] == "botte" for r in french[1:]) and all(r[3] != "bunch" for r in french[1:])
    assert any("," in r[5] for r in french[1:])
    coordinator.locale = "en"
    demo.commit()
    english = rows(path)
    assert english[0][:3] == ["Producer", "Product", "Quantity"]
    assert all("," not in r[5] for r in english[1:]) and any("." in r[5] for r in english[1:])
    coded = rows(path + "&codes=1")
    assert coded[0][:6] == ["producer", "product", "quantity", "unit", "unit_price", "total"]
    assert any(r[3] == "bunch" for r in coded[1:])
