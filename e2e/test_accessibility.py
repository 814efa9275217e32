"""Accessibility: axe-core (from npm, like htmx) on every main page of every persona, at
phone and laptop sizes; any serious or critical violation fails.

The app's CSP lets no injected script run, so the check has its own context with
`bypass_csp=True` (TESTING.md); the pages are the ones `make screenshots` takes.
"""

from __future__ import annotations

import importlib.util
import json

import pytest

from .conftest import ROOT, login

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SIZES = {"phone": {"width": 390, "height": 844}, "laptop": {"width": 1280, "height": 800}}


def _main_pages(server) -> dict[str, list[tuple[str, str]]]:
    spec = importlib.util.spec_from_file_location("screens", ROOT / "scripts" / "screenshots.py")
    screens = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(screens)
    return screens._pages(server.env["DATABASE_URL"])


@pytest.fixture(scope="module")
def pages(server):
    return _main_pages(server)


def _violations(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async () => JSON.stringify(await axe.run(document, {resultTypes: ['violations']}))"
    )
    found = []
    for v in json.loads(result)["violations"]:
        if v["impact"] in ("serious", "critical"):
            found.append(
                {
                    "rule": v["id"],
                    "impact": v["impact"],
                    "help": v["help"],
                    "where": [n["target"] for n in v["nodes"][:3]],
                }
            )
    return found


@pytest.mark.skipif(not AXE.exists(), reason="npm ci installs axe-core (make setup)")
@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("persona", ["member", "volunteer", "coordinator", "producer"])
def test_no_serious_accessibility_violation(browser, base_url, pages, persona, size):
    context = browser.new_context(
        base_url=base_url,
        viewport=SIZES[size],
        locale="fr-FR",
        bypass_csp=True,
        service_workers="block",
    )
    page = context.new_page()
    try:
        login(page, f"{persona}@demo.test")
        problems = {}
        for name, path in pages[persona]:
            page.goto(path)
            page.wait_for_load_state("load")
            found = _violations(page)
            wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            if wide > 0:  # a phone scrolls sideways: something overflows the page
                found.append({"rule": "page-wider-than-the-screen", "by_px": wide})
            if found:
                problems[f"{name} {path}"] = found
        assert problems == {}, json.dumps(problems, indent=1, ensure_ascii=False)
    finally:
        context.close()
