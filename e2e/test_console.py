"""No console error on any persona's main pages: each demo account signs in and opens its
pages (the home page, every link of its menu and home page, and the pages of the day a
persona works on), and one htmx exchange (a member adds to the basket). A script error, a
failed resource, and every Content-Security-Policy violation (Chromium prints them as
console errors; a `securitypolicyviolation` listener reports them as well) fails the test.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import TABLET, login

# Pages that are downloads or act on the account when opened: not pages to look at.
SKIP = re.compile(r"(/logout|\.csv|\.pdf|/export|[?&](list|format)=|^/static/|/photos/|/tablet/)")
# The day's pages a coordinator and a volunteer work on, found on their pages.
DAY_PAGES = re.compile(r"^/distributions/\d+/(orders|summary|signin|validation|sheet|shop)$")

REPORT_CSP = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"}`
    + ` at ${e.sourceFile}:${e.lineNumber}`);
});
"""

PERSONAS = {
    "member": ("member@demo.test", ["/", "/orders", "/account/history", "/account/"]),
    "volunteer": ("volunteer@demo.test", ["/", "/roster/", "/account/"]),
    "coordinator": (
        "coordinator@demo.test",
        ["/", "/distributions/", "/members/", "/members/balances", "/catalogues/"],
    ),
    "producer": ("producer@demo.test", ["/producer/", "/account/"]),
}


# Links a persona is shown but may not follow: none (a test of the menu's own promise).
REFUSED_LINKS: set[tuple[str, str]] = set()


def watch(page, errors: list) -> None:
    """Console errors with where they come from, and uncaught exceptions."""

    def on_console(msg):
        if msg.type == "error":
            where = (msg.location or {}).get("url", "")
            errors.append(f"{msg.text} [{where}]")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))


def _pattern(path: str) -> str:
    return re.sub(r"\d+", "N", path)


def _links(page) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    return [h for h in hrefs if h.startswith("/") and not h.startswith("//")]


def _visit(page, path: str, errors: list, seen: list) -> None:
    errors.clear()
    response = page.goto(path)
    assert response is not None and response.status < 400, (path, response and response.status)
    page.wait_for_load_state("networkidle")
    assert errors == [], f"console errors on {path}: {errors}"
    seen.append(path)


@pytest.mark.parametrize("persona", list(PERSONAS))
def test_main_pages_of_each_persona_have_no_console_error(browser, base_url, persona):
    email, pages = PERSONAS[persona]
    context = browser.new_context(viewport=TABLET, base_url=base_url, locale="fr-FR")
    context.add_init_script(REPORT_CSP)
    page = context.new_page()
    errors: list[str] = []
    watch(page, errors)
    login(page, email)
    assert errors == [], f"console errors while signing in: {errors}"
    seen: list[str] = []
    patterns: set[str] = set()
    queue = list(pages)
    while queue:
        path = queue.pop(0).split("#")[0]
        if not path or SKIP.search(path) or _pattern(path) in patterns:
            continue
        if (persona, path) in REFUSED_LINKS:
            continue
        patterns.add(_pattern(path))
        _visit(page, path, errors, seen)
        # the menu and the links of the persona's first pages (one level down), and the
        # pages of the days they work on
        for href in _links(page):
            if path in pages or DAY_PAGES.match(href.split("?")[0]):
                queue.append(href)
    assert len(seen) >= len(pages), seen
    context.close()


def test_an_htmx_exchange_raises_no_console_error(browser, base_url):
    """The shop's buttons swap fragments with htmx (its indicator styles included)."""
    context = browser.new_context(viewport=TABLET, base_url=base_url, locale="fr-FR")
    context.add_init_script(REPORT_CSP)
    page = context.new_page()
    errors: list[str] = []
    watch(page, errors)
    login(page, "member@demo.test")
    href = page.get_by_role(
        "button", name=re.compile("Commander|Modifier ma commande")
    ).first.get_attribute("href")
    page.goto(href)
    total = page.locator("#basket-bar strong")
    before = total.inner_text()
    page.get_by_role("button", name=re.compile("^Un de plus")).first.click()
    expect(total).not_to_have_text(before)
    page.wait_for_load_state("networkidle")
    assert errors == [], errors
    context.close()
