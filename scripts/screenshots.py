"""`make screenshots`: the main pages of each persona, from the demo, at phone, tablet and
laptop sizes, in French and in English, as PNGs in screenshots/ (git-ignored).

    screenshots/<lang>/<persona>-<page>-<size>.png

About a minute: one throwaway app process on a free port with a fresh demo database, one
Chromium, one context per persona x language x size. Options: `--only member,coordinator`,
`--sizes phone,laptop`, `--langs fr`, `--out DIR`.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIZES = {
    "phone": {"width": 390, "height": 844},
    "tablet-portrait": {"width": 768, "height": 1024},
    "tablet": {"width": 1024, "height": 768},
    "laptop": {"width": 1280, "height": 800},
}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _flask(env: dict, *args: str, background: bool = False, log=None):
    command = [sys.executable, "-m", "flask", "--app", "webapp", *args]
    if background:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
    return None


def _pages(database_url: str) -> dict[str, list[tuple[str, str]]]:
    """Each persona's main pages (name, path), the demo's distributions found by state."""
    from sqlalchemy import select

    from webapp import clock, create_app
    from webapp.domain.cycle import Status
    from webapp.extensions import db
    from webapp.models import Basket, Distribution, User

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "shots"})
    with app.app_context():
        now = clock.now()
        by_state = {d.status(now): d.id for d in db.session.scalars(select(Distribution))}
        member = db.session.scalar(select(User).where(User.email == "member@demo.test"))
        baskets = {
            b.distribution_id: b.id
            for b in db.session.scalars(select(Basket).where(Basket.user_id == member.id))
        }
        db.engine.dispose()
    open_ = by_state.get(Status.OPEN)
    closed = by_state.get(Status.CLOSED)
    done = by_state.get(Status.VALIDATED) or by_state.get(Status.DISTRIBUTED)
    to_validate = by_state.get(Status.DISTRIBUTED) or done
    member_pages = [("home", "/"), ("shop", f"/distributions/{open_}/shop")]
    if done in baskets:
        member_pages.append(("receipt", f"/baskets/{baskets[done]}"))
    member_pages += [("history", "/account/history"), ("orders", "/orders")]
    return {
        "member": member_pages,
        "volunteer": [
            ("home", "/"),
            ("roster", "/roster/"),
            ("sheet", f"/distributions/{closed}/sheet"),
            # the same sheet, a basket open and scrolled to its end: its heading must stay
            ("sheet-basket", f"/distributions/{closed}/sheet"),
        ],
        "coordinator": [
            ("home", "/"),
            ("distributions", "/distributions/"),
            ("orders", f"/distributions/{closed}/orders"),
            ("summary", f"/distributions/{closed}/summary"),
            ("signin", f"/distributions/{closed}/signin"),
            ("validation", f"/distributions/{to_validate}/validation"),
            # a basket's correction panel open: it must fit the screen
            ("validation-correct", f"/distributions/{to_validate}/validation"),
            ("members", "/members/"),
            ("balances", "/members/balances"),
            ("catalogues", "/catalogues/"),
        ],
        "producer": [("home", "/producer/"), ("catalogue", "/catalogues/1")],
    }


def _set_language(database: Path, lang: str) -> None:
    import sqlite3

    with sqlite3.connect(database) as conn:
        conn.execute("UPDATE users SET locale = ? WHERE email LIKE '%@demo.test'", (lang,))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="member,volunteer,coordinator,producer")
    parser.add_argument("--sizes", default=",".join(SIZES))
    parser.add_argument("--langs", default="fr,en")
    parser.add_argument("--out", default=str(ROOT / "screenshots"))
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    started = time.monotonic()
    out = Path(args.out)
    instance = Path(tempfile.mkdtemp(prefix="court-circuit-shots-"))
    database = instance / "shots.sqlite3"
    port = _free_port()
    env = {
        **os.environ,
        "COURT_CIRCUIT_INSTANCE": str(instance),
        "DATABASE_URL": f"sqlite:///{database}",
        "SECRET_KEY": "screenshots",
        "RATELIMIT_ENABLED": "0",
    }
    _flask(env, "db", "upgrade")
    _flask(env, "seed-demo")
    print(f"demo ready ({time.monotonic() - started:.0f} s)")
    pages = _pages(env["DATABASE_URL"])
    log = open(instance / "server.log", "ab")
    server = _flask(
        env,
        *("run", "--port", str(port), "--host", "127.0.0.1", "--with-threads"),
        background=True,
        log=log,
    )
    base = f"http://127.0.0.1:{port}"
    count = 0
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            for lang in args.langs.split(","):
                _set_language(database, lang)
                (out / lang).mkdir(parents=True, exist_ok=True)
                for persona in args.only.split(","):
                    state = _login(browser, base, persona)
                    for size in args.sizes.split(","):
                        context = browser.new_context(
                            base_url=base,
                            viewport=SIZES[size],
                            storage_state=state,
                            locale="fr-FR" if lang == "fr" else "en-GB",
                            has_touch=size != "laptop",
                            is_mobile=size == "phone",
                            service_workers="block",
                        )
                        page = context.new_page()
                        for name, path in pages[persona]:
                            page.goto(path, wait_until="load")
                            target = out / lang / f"{persona}-{name}-{size}.png"
                            if name == "validation-correct":
                                summary = page.locator("details.corrections > summary").first
                                summary.click()
                                summary.scroll_into_view_if_needed()
                                page.screenshot(path=str(target))
                                count += 1
                                continue
                            if name == "sheet-basket":
                                page.locator(".basket-row").nth(2).click()
                                page.locator(".detail-signature").scroll_into_view_if_needed()
                                page.screenshot(path=str(target))  # the screen, not the page
                                count += 1
                                continue
                            page.screenshot(path=str(target), full_page=True)
                            count += 1
                        context.close()
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
    print(f"{count} screenshots in {out} ({time.monotonic() - started:.0f} s)")
    return 0


def _login(browser, base: str, persona: str) -> dict:
    context = browser.new_context(base_url=base, service_workers="block")
    page = context.new_page()
    page.goto("/login")
    page.fill("input[name=email]", f"{persona}@demo.test")
    page.fill("input[name=password]", "demo-password")
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    state = context.storage_state()
    context.close()
    return state


if __name__ == "__main__":
    sys.exit(main())
