"""`make deploy-check`: each persona's main path through nginx over HTTPS, in front of two
app instances on PostgreSQL (deploy/check.sh starts them and sets DEPLOY_*).

Not collected by `make test` (pyproject's testpaths are tests/ and e2e/): it needs nginx,
PostgreSQL and root, and takes a minute.
"""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import psycopg
import pytest
from playwright.sync_api import expect

from e2e.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE, TABLET, login, service_worker
from e2e.test_volunteer import collect

URL = os.environ.get("DEPLOY_URL", "")
INSTANCES = os.environ.get("DEPLOY_INSTANCES", "").split()
PASSWORD = "demo-password"
CSRF_RE = re.compile(r'<meta name="csrf-token" content="([^"]+)"')

pytestmark = pytest.mark.skipif(not URL, reason="run by `make deploy-check` (deploy/check.sh)")


@pytest.fixture(scope="session")
def base_url():
    return URL


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    # The certificate is made at set-up: Chromium is told to accept it (service workers
    # refuse a certificate error unless the whole browser ignores them).
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [*CHROMIUM_ARGS, "--ignore-certificate-errors"],
    }


def context(browser, viewport, **extra):
    return browser.new_context(
        viewport=viewport, base_url=URL, locale="fr-FR", ignore_https_errors=True, **extra
    )


def sql(query: str, *params):
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        return conn.execute(query, params).fetchall()


def curl(*args: str) -> str:
    return subprocess.run(
        ["curl", "-sk", "--max-time", "20", *args], check=True, capture_output=True, text=True
    ).stdout


def upstreams_seen(since: int) -> set[str]:
    lines = Path(os.environ["DEPLOY_ACCESS_LOG"]).read_text().splitlines()[since:]
    return {line.split()[-3] for line in lines if line.split()[-3] != "-"}


def log_length() -> int:
    return len(Path(os.environ["DEPLOY_ACCESS_LOG"]).read_text().splitlines())


# --- the proxy itself ---------------------------------------------------------------------


def test_https_with_http2_and_the_app_behind():
    head = curl("--http2", "-D", "-", "-o", "/dev/null", f"{URL}/healthz")
    assert head.startswith("HTTP/2 200"), head


def test_hashed_static_files_are_cached_a_year_and_gzipped():
    page = curl(f"{URL}/login")
    css = re.search(r'href="(/static/[^"]+\.css\?v=[0-9a-f]+)"', page).group(1)
    head = curl("--http2", "-H", "Accept-Encoding: gzip", "-D", "-", "-o", "/dev/null", URL + css)
    assert "cache-control: public, max-age=31536000, immutable" in head.lower()
    assert "content-encoding: gzip" in head.lower()
    plain = curl("-D", "-", "-o", "/dev/null", URL + css.split("?")[0])
    assert "cache-control: no-cache" in plain.lower()


def test_the_service_worker_is_never_cached_long():
    head = curl("-D", "-", "-o", "/dev/null", f"{URL}/sw.js").lower()
    assert head.startswith("http/2 200")
    cache = re.search(r"^cache-control: (.*)$", head, re.M).group(1)
    assert cache.strip() == "no-cache"


def test_a_body_over_the_limit_stops_at_nginx():
    big = "x" * (9 * 1024 * 1024)
    status = subprocess.run(
        [
            "curl",
            "-sk",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--data-binary",
            "@-",
            f"{URL}/login",
        ],
        input=big,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert status == "413"


def test_proxy_headers_reach_the_app_as_https():
    # Links the app writes for itself are https, the address the person used.
    page = curl(f"{URL}/manifest.webmanifest")
    assert "http://" not in page


# --- state shared by the instances --------------------------------------------------------


def test_a_login_on_one_instance_continues_on_the_other():
    """Sessions are signed cookies with the SECRET_KEY every instance shares: a member who
    signs in on instance A is known to instance B, and A's CSRF token is valid on B."""
    a, b = (urlsplit(u) for u in INSTANCES)
    cookies: dict[str, str] = {}

    def call(where, method, path, form=None, token=None):
        conn = http.client.HTTPConnection(where.hostname, where.port, timeout=20)
        headers = {
            "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
            "X-Forwarded-Proto": "https",
            "Host": urlsplit(URL).netloc,
        }
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = URL + "/login"
        if token:
            headers["X-CSRFToken"] = token
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read().decode()
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            cookies[name] = rest.split(";")[0]
        return response.status, data

    _, page = call(a, "GET", "/login")
    token = CSRF_RE.search(page).group(1)
    status, _ = call(
        a,
        "POST",
        "/login",
        {"email": "member@demo.test", "password": PASSWORD, "csrf_token": token},
    )
    assert status in (302, 303)
    status, page = call(b, "GET", "/")
    assert status == 200 and "Bonjour Marie" in page
    # A form posted on B with the token A gave: the language switch, a small write.
    status, _ = call(b, "POST", "/lang", {"lang": "fr", "csrf_token": token})
    assert status < 400


def test_photos_and_keys_live_in_the_shared_folder():
    shared = Path(os.environ["COURT_CIRCUIT_INSTANCE"])
    assert (shared / "vapid_private.pem").exists()
    assert not (shared / "secret_key").exists()  # SECRET_KEY comes from the environment


# --- personas through nginx ---------------------------------------------------------------


def test_member_orders_on_a_phone_served_by_both_instances(browser):
    ctx = context(browser, PHONE, has_touch=True, is_mobile=True)
    page = ctx.new_page()
    since = log_length()
    login(page, "member@demo.test")
    expect(page.get_by_role("heading", name="Bonjour Marie")).to_be_visible()
    href = page.get_by_role(
        "button", name=re.compile("Commander|Modifier ma commande")
    ).first.get_attribute("href")
    page.goto(href)
    total = page.locator("#basket-bar strong")
    for name in ("Pain de campagne", "Poireaux"):
        row = page.locator(".product", has=page.get_by_role("heading", name=name, exact=True))
        before = total.inner_text()
        row.get_by_role("button", name=f"Un de plus : {name}").click()
        expect(total).not_to_have_text(before)
    after = total.inner_text()
    for _ in range(3):  # nginx spreads the reloads over both instances; same basket on each
        page.reload()
        expect(page.locator("#basket-bar strong")).to_have_text(after)
    assert len(upstreams_seen(since)) == 2, "both instances served this member"
    ctx.close()


def closed_distribution() -> int:
    return sql(
        "SELECT id FROM distributions WHERE orders_close_at < now() AND starts_at > now() "
        "ORDER BY starts_at LIMIT 1"
    )[0][0]


def test_volunteer_collects_offline_on_a_tablet_then_syncs_once(browser):
    d = closed_distribution()
    before = sql("SELECT count(*) FROM sheet_events WHERE distribution_id = %s", d)[0][0]
    ctx = context(browser, TABLET, has_touch=True)
    page = ctx.new_page()
    login(page, "volunteer@demo.test")
    page.goto(f"/distributions/{d}/sheet")
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_selector("body[data-offline-ready=true]")
    ctx.set_offline(True)
    page.reload()  # from the service worker's cache
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("#net-state")).to_have_attribute("data-state", "offline")
    collect(page, 1)  # everything taken, paid, signed: 3 taps and a signature
    waiting = int(page.locator("#pending-count").get_attribute("data-count"))
    assert waiting > 0
    assert sql("SELECT count(*) FROM sheet_events WHERE distribution_id = %s", d)[0][0] == before
    ctx.set_offline(False)
    expect(page.locator("#pending-count")).to_have_attribute("data-count", "0", timeout=20_000)
    for _ in range(2):
        page.evaluate("window.CourtCircuitSheet.syncNow()")
    time.sleep(1)
    after = sql("SELECT count(*) FROM sheet_events WHERE distribution_id = %s", d)[0][0]
    assert after == before + waiting
    ctx.close()


def test_coordinator_reads_the_orders_summary_and_sign_in_pdf(browser):
    d = closed_distribution()
    ctx = context(browser, {"width": 1280, "height": 800})
    page = ctx.new_page()
    login(page, "coordinator@demo.test")
    page.goto(f"/distributions/{d}/orders")
    expect(page.get_by_role("heading", name=re.compile("^Commandes"))).to_be_visible()
    page.goto(f"/distributions/{d}/summary")
    expect(page.locator("section.purchase-order").first).to_be_visible()
    response = ctx.request.get(f"{URL}/distributions/{d}/signin.pdf")
    assert response.status == 200 and response.body().startswith(b"%PDF")
    ctx.close()


def test_the_service_worker_shows_a_pushed_notification(browser):
    ctx = context(browser, TABLET)
    ctx.grant_permissions(["notifications"], origin=URL)
    page = ctx.new_page()
    login(page, "member@demo.test")
    page.goto("/account/notifications")
    page.evaluate("navigator.serviceWorker.ready")
    cdp, registration_id = service_worker(ctx, page, URL)
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {
            "origin": URL,
            "registrationId": registration_id,
            "data": '{"title": "Commandes ouvertes", "body": "Via nginx", "url": "/"}',
        },
    )
    shown = []
    for _ in range(25):
        shown = page.evaluate(
            "navigator.serviceWorker.ready.then(r => r.getNotifications())"
            ".then(list => list.map(n => n.title + '|' + n.body))"
        )
        if shown:
            break
        page.wait_for_timeout(200)
    assert shown == ["Commandes ouvertes|Via nginx"]
    ctx.close()


def test_the_sender_unit_drains_the_outbox():
    """The sender (notify-loop, as its systemd unit runs it) delivers what requests queued:
    nothing stays queued for long (no SMTP host here: e-mails are logged)."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        waiting = sql(
            "SELECT count(*) FROM outbox_messages WHERE state = 'queued' "
            "AND next_attempt_at <= now()"
        )[0][0]
        if waiting == 0:
            break
        time.sleep(1)
    assert waiting == 0
