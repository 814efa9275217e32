"""A volunteer's tablet on distribution day: offline, reloads, restarts, outages, two tablets."""

import json
import sqlite3
import tempfile
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from webapp.domain.money import line_total_cents

from .conftest import CHROMIUM, CHROMIUM_ARGS, TABLET, Server, _free_port, login, service_worker

CLOSED = "SELECT id FROM distributions WHERE orders_close_at < datetime('now') AND starts_at > datetime('now')"


def db(server):
    return sqlite3.connect(server.instance / "e2e.sqlite3")


def closed_distribution(server) -> int:
    with db(server) as conn:
        return conn.execute(CLOSED).fetchone()[0]


def stored_events(server, distribution_id) -> list[tuple]:
    with db(server) as conn:
        return conn.execute(
            "SELECT id, kind, basket_id FROM sheet_events WHERE distribution_id = ?",
            (distribution_id,),
        ).fetchall()


def open_sheet(page, distribution_id):
    page.goto(f"/distributions/{distribution_id}/sheet")
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_selector("body[data-offline-ready=true]")


def sign(page):
    page.locator("#signature-pad").scroll_into_view_if_needed()
    box = page.locator("#signature-pad").bounding_box()
    page.mouse.move(box["x"] + 40, box["y"] + 120)
    page.mouse.down()
    for step in range(1, 12):
        page.mouse.move(box["x"] + 40 + step * 30, box["y"] + 120 - (step % 3) * 25)
    page.mouse.up()
    page.get_by_role("button", name="Enregistrer la signature").click()
    expect(page.locator("svg.signature")).to_be_visible()


def collect(page, number: int):
    """Search a basket by number, take everything, pay the amount due, sign: 3 taps + signature."""
    page.locator("#search").fill(str(number))
    page.locator(f'.basket-row:has(.basket-number:text-is("#{number}"))').click()
    page.get_by_role("button", name="Tout est récupéré").click()
    page.locator(".pay-button").first.click()
    expect(page.locator(".detail-money .remaining")).to_have_text("0,00\u00a0€")
    sign(page)
    expect(
        page.locator(f'.basket-row:has(.basket-number:text-is("#{number}")) .basket-state')
    ).to_have_text("Récupéré")


def pending(page) -> int:
    return int(page.locator("#pending-count").get_attribute("data-count"))


def wait_synced(page):
    expect(page.locator("#pending-count")).to_have_attribute("data-count", "0", timeout=20_000)


@pytest.fixture
def tablet(browser, base_url):
    context = browser.new_context(
        viewport=TABLET, base_url=base_url, locale="fr-FR", has_touch=True
    )
    yield context
    context.close()


def test_offline_reload_collect_five_reopen_from_cache_then_sync_exactly_once(tablet, server):
    d = closed_distribution(server)
    before = len(stored_events(server, d))
    page = tablet.new_page()
    login(page, "volunteer@demo.test")
    open_sheet(page, d)
    tablet.set_offline(True)
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("#net-state")).to_have_attribute("data-state", "offline")
    for number in (1, 2, 3, 4, 5):
        collect(page, number)
    assert pending(page) == 15
    second = (
        tablet.new_page()
    )  # a new tab, still offline: the page and its data come from the cache
    second.goto(f"/distributions/{d}/sheet")
    second.wait_for_selector("body[data-ready=true]")
    expect(second.locator("#collected-count")).to_have_text("5 / 32")
    expect(second.locator("#pending-count")).to_have_attribute("data-count", "15")
    second.close()
    assert len(stored_events(server, d)) == before
    tablet.set_offline(False)
    wait_synced(page)
    events = stored_events(server, d)
    assert len(events) == before + 15
    assert len({e[0] for e in events}) == len(events)
    # replaying changes nothing
    for _ in range(3):
        page.evaluate("window.CourtCircuitSheet.syncNow()")
    assert len(stored_events(server, d)) == before + 15
    expect(page.locator("#last-sync")).to_contain_text("Dernière synchro")


def test_two_tablets_offline_then_converge(browser, base_url, server):
    d = closed_distribution(server)
    contexts = [
        browser.new_context(viewport=TABLET, base_url=base_url, locale="fr-FR") for _ in range(2)
    ]
    pages = []
    for context in contexts:
        page = context.new_page()
        login(page, "coordinator@demo.test")
        open_sheet(page, d)
        context.set_offline(True)
        pages.append(page)
    collect(pages[0], 10)
    collect(pages[1], 11)
    for context in contexts:
        context.set_offline(False)
    for page in pages:
        wait_synced(page)
    pages[0].evaluate("window.CourtCircuitSheet.syncNow()")
    for page in pages:
        for number in (10, 11):
            page.locator("#search").fill(str(number))
            expect(
                page.locator(f'.basket-row:has(.basket-number:text-is("#{number}")) .basket-state')
            ).to_have_text("Récupéré", timeout=15_000)
    for context in contexts:
        context.close()


def test_browser_restart_while_offline_keeps_every_action(playwright, server, base_url):
    d = closed_distribution(server)
    before = len(stored_events(server, d))
    profile = tempfile.mkdtemp(prefix="cc-profile-")

    def launch():
        return playwright.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            viewport=TABLET,
            base_url=base_url,
            locale="fr-FR",
            headless=True,
        )

    context = launch()
    page = context.new_page()
    login(page, "volunteer@demo.test")
    open_sheet(page, d)
    context.set_offline(True)
    collect(page, 20)
    context.close()

    context = launch()
    context.set_offline(True)
    page = context.new_page()
    page.goto(f"/distributions/{d}/sheet")
    page.wait_for_selector("body[data-ready=true]")
    page.locator("#search").fill("20")
    expect(
        page.locator('.basket-row:has(.basket-number:text-is("#20")) .basket-state')
    ).to_have_text("Récupéré")
    # (Chromium's Background Sync may already have sent them from the service worker.)
    context.set_offline(False)
    wait_synced(page)
    assert len(stored_events(server, d)) == before + 3
    context.close()


def test_server_down_then_back_loses_and_doubles_nothing(browser, tmp_path):
    server = Server(tmp_path, _free_port())
    server.flask("db", "upgrade")
    server.flask("seed-demo")
    server.start()
    try:
        d = closed_distribution(server)
        context = browser.new_context(viewport=TABLET, base_url=server.url, locale="fr-FR")
        page = context.new_page()
        login(page, "volunteer@demo.test")
        open_sheet(page, d)
        server.stop()  # a real outage: the browser still thinks it is online
        for number in (1, 2):
            collect(page, number)
        page.reload()  # served by the service worker while the server is down
        page.wait_for_selector("body[data-ready=true]")
        assert pending(page) == 6
        server.start()
        wait_synced(page)  # only the periodic retry can notice: no 'online' event fires
        events = stored_events(server, d)
        assert len(events) == 6 and len({e[0] for e in events}) == 6
        context.close()
    finally:
        server.stop()


def test_background_sync_sends_the_outbox_with_the_page_closed(browser, base_url, server):
    d = closed_distribution(server)
    before = len(stored_events(server, d))
    context = browser.new_context(viewport=TABLET, base_url=base_url, locale="fr-FR")
    page = context.new_page()
    login(page, "coordinator@demo.test")
    open_sheet(page, d)
    context.set_offline(True)
    collect(page, 25)
    helper = context.new_page()  # keeps the context (and its service worker) alive
    page.close()  # no page timer can send anything now: only the service worker
    context.set_offline(False)
    cdp, registration_id = service_worker(context, helper, base_url)
    cdp.send(
        "ServiceWorker.dispatchSyncEvent",
        {
            "origin": base_url,
            "registrationId": registration_id,
            "tag": "sheet-sync-e2e",
            "lastChance": False,
        },
    )
    deadline = 50
    while len(stored_events(server, d)) < before + 3 and deadline:
        helper.wait_for_timeout(200)
        deadline -= 1
    assert len(stored_events(server, d)) == before + 3
    context.close()


# 6 to 9: test_sheet_payments.py
USED_BY_OTHER_TESTS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 16, 20, 25)


def weighed_line(server, distribution_id) -> tuple[int, int, Decimal, int]:
    """(basket number, line id, ordered quantity, unit price) of a weighed line in a basket
    of several lines that no other test collects."""
    with db(server) as conn:
        number, line_id, quantity, price = conn.execute(
            f"""SELECT b.number, l.id, CAST(l.quantity AS TEXT), l.unit_price_cents
                FROM baskets b JOIN order_lines l ON l.basket_id = b.id
                JOIN products p ON p.id = l.product_id
                WHERE b.distribution_id = ? AND p.weighed AND l.quantity > 0
                  AND b.number NOT IN {USED_BY_OTHER_TESTS}
                  AND (SELECT count(*) FROM order_lines o
                       WHERE o.basket_id = b.id AND o.quantity > 0) > 1
                ORDER BY b.number DESC LIMIT 1""",
            (distribution_id,),
        ).fetchone()
    return number, line_id, Decimal(quantity), price


def euros(cents: int) -> str:
    return f"{cents // 100},{cents % 100:02d}\u00a0€"


def cents_of(text: str) -> int:
    return int(text.replace("\u00a0", "").replace("\u202f", "").replace("€", "").replace(",", ""))


def test_weighed_line_offline_sets_the_amount_due_at_once_then_syncs(tablet, server):
    d = closed_distribution(server)
    number, line_id, ordered, price = weighed_line(server, d)
    weight = ordered + Decimal("0.25")
    typed = f"{weight:.3f}".replace(".", ",")  # "1,750": what the scale says, French comma
    page = tablet.new_page()
    login(page, "volunteer@demo.test")
    open_sheet(page, d)
    tablet.set_offline(True)
    page.locator("#search").fill(str(number))
    row = page.locator(f'.basket-row:has(.basket-number:text-is("#{number}"))')
    row.click()
    due_before = cents_of(page.locator(".detail-money .due").inner_text())
    due_after = due_before - line_total_cents(ordered, price) + line_total_cents(weight, price)
    assert due_after > due_before
    given = (due_after // 100 + 20) * 100  # a note that covers the new amount
    page.locator("#cash-given").fill(str(given // 100))
    expect(page.locator("#change")).to_contain_text(euros(given - due_before))
    queued = pending(page)

    weight_input = page.locator(f"#weight-{line_id}")
    expect(weight_input).to_have_attribute("placeholder", str(ordered).replace(".", ","))
    weight_input.fill(typed)
    weight_input.press("Enter")

    line = page.locator(f'.lines li[data-line="{line_id}"]')
    expect(line.locator(".line-total")).to_have_text(euros(line_total_cents(weight, price)))
    expect(line.locator(".line-weighed")).to_contain_text(f"pesé\u00a0: {typed}")
    expect(page.locator(".detail-money .due")).to_have_text(euros(due_after))
    expect(page.locator(".detail-money .remaining")).to_have_text(euros(due_after))
    expect(page.locator("#pay-amount")).to_have_value(f"{due_after // 100},{due_after % 100:02d}")
    expect(page.locator("#cash-given")).to_have_value(str(given // 100))
    expect(page.locator("#change")).to_contain_text(euros(given - due_after))
    expect(row.locator(".basket-due")).to_have_text(euros(due_after))
    expect(page.locator(f"#weight-{line_id}")).to_have_value(typed)
    assert pending(page) == queued + 1

    # a bad weight is refused on the spot, nothing recorded
    page.locator(f"#weight-{line_id}").fill("1,2,3")
    page.locator(f"#weight-{line_id}").press("Enter")
    expect(page.locator(f"#weight-{line_id}")).to_have_attribute("aria-invalid", "true")
    assert pending(page) == queued + 1

    tablet.set_offline(False)
    wait_synced(page)
    with db(server) as conn:
        payloads = [
            json.loads(p)
            for (p,) in conn.execute(
                "SELECT payload FROM sheet_events WHERE distribution_id = ? AND kind = 'pickup'",
                (d,),
            )
        ]
    assert {"state": "taken", "line_id": line_id, "quantity": f"{weight:.3f}"} in payloads
    page.reload()  # from the server's snapshot and events: the same amount
    page.wait_for_selector("body[data-ready=true]")
    page.locator("#search").fill(str(number))
    expect(row.locator(".basket-due")).to_have_text(euros(due_after))


OPEN = (
    "SELECT id FROM distributions WHERE orders_open_at < datetime('now') "
    "AND orders_close_at > datetime('now')"
)

# What this browser keeps of a sheet, read from a page of the same origin.
DEVICE_COPY = """async (id) => {
  const db = await new Promise((resolve, reject) => {
    const r = indexedDB.open("court-circuit-sheet");
    r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error);
  });
  const all = (store) => new Promise((resolve) => {
    const r = db.transaction(store).objectStore(store).getAll();
    r.onsuccess = () => resolve(r.result);
  });
  const snap = (await all("snapshots")).find((s) => s.distribution_id === id);
  const outbox = (await all("outbox")).filter((i) => i.distribution_id === id);
  db.close();
  const page = await caches.match(location.origin + "/distributions/" + id + "/sheet");
  return { names: !!(snap && snap.data), wiped: !!(snap && snap.wiped), outbox: outbox.length, page: !!page };
}"""


def row_state(page, number: int):
    page.locator("#search").fill(str(number))
    return page.locator(f'.basket-row:has(.basket-number:text-is("#{number}")) .basket-state')


def test_two_online_tablets_see_each_others_records_within_10_s_without_reload(
    browser, base_url, server
):
    d = closed_distribution(server)
    contexts = [
        browser.new_context(viewport=TABLET, base_url=base_url, locale="fr-FR") for _ in range(2)
    ]
    pages = []
    for context in contexts:
        page = context.new_page()
        login(page, "coordinator@demo.test")
        open_sheet(page, d)
        pages.append(page)
    expect(row_state(pages[1], 12)).to_have_text("À récupérer")
    expect(row_state(pages[0], 13)).to_have_text("À récupérer")
    collect(pages[0], 12)
    collect(pages[1], 13)
    # no reload, no tap: each tablet asks for the other's records by itself
    expect(row_state(pages[1], 12)).to_have_text("Récupéré", timeout=10_000)
    expect(row_state(pages[0], 13)).to_have_text("Récupéré", timeout=10_000)
    for context in contexts:
        context.close()


def test_a_refused_sync_shows_its_reason_and_keeps_the_events(tablet, server):
    with db(server) as conn:
        d = conn.execute(OPEN).fetchone()[0]
    page = tablet.new_page()
    login(page, "coordinator@demo.test")
    open_sheet(page, d)
    page.locator(".basket-row").first.click()
    page.get_by_role("button", name="Tout est récupéré").click()
    # the server refuses (orders still open): not "offline", the reason, events kept
    expect(page.locator("#sync-error")).to_have_text(
        "synchro refusée : les commandes sont encore ouvertes"
    )
    expect(page.locator("#net-state")).to_have_attribute("data-state", "online")
    assert pending(page) == 1
    page.wait_for_timeout(4500)  # a periodic retry later: still waiting, still said
    assert pending(page) == 1
    expect(page.locator("#sync-error")).to_be_visible()
    assert stored_events(server, d) == []


def test_logout_sends_first_or_says_how_many_wait_and_removes_the_copy(tablet, server):
    d = closed_distribution(server)
    before = len(stored_events(server, d))
    home = tablet.new_page()
    login(home, "volunteer@demo.test")
    page = tablet.new_page()
    open_sheet(page, d)
    tablet.set_offline(True)
    collect(page, 15)
    assert pending(page) == 3
    page.close()
    # offline: nothing can be sent; the names go, the three records stay and are counted
    home.get_by_role("button", name="Se déconnecter").click()
    expect(home.locator(".sheet-waiting")).to_have_attribute("data-pending", "3")
    copy = home.evaluate(DEVICE_COPY, d)
    assert copy == {"names": False, "wiped": True, "outbox": 3, "page": False}
    assert home.url.endswith("/")  # still signed in
    # back online: signing out sends them first, then leaves
    tablet.set_offline(False)
    home.get_by_role("button", name="Se déconnecter").click()
    home.wait_for_url("**/login")
    assert len(stored_events(server, d)) == before + 3
    assert home.evaluate(DEVICE_COPY, d)["outbox"] == 0


def test_a_revoked_tablet_link_removes_the_copy_from_the_tablet(browser, base_url, server):
    d = closed_distribution(server)
    coordinator = browser.new_context(viewport=TABLET, base_url=base_url, locale="fr-FR")
    admin = coordinator.new_page()
    login(admin, "coordinator@demo.test")
    admin.goto(f"/distributions/{d}/tablet")
    admin.get_by_role("button", name="Créer un lien tablette").click()
    link = admin.locator("code.invite-link").inner_text()
    tablet = browser.new_context(viewport=TABLET, base_url=base_url, locale="fr-FR")
    page = tablet.new_page()
    page.goto(link)
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_selector("body[data-offline-ready=true]")
    expect(page.locator(".basket-row").first).to_be_visible()
    assert page.evaluate(DEVICE_COPY, d)["names"] is True
    admin.get_by_role("button", name="Révoquer tous les liens").click()
    # within a poll: the names, phones and amounts leave the tablet, and its cached page
    expect(page.locator("#sync-error")).to_have_text(
        "la feuille a été effacée de cette tablette", timeout=10_000
    )
    expect(page.locator(".basket-row")).to_have_count(0)
    assert page.evaluate(DEVICE_COPY, d) == {
        "names": False,
        "wiped": True,
        "outbox": 0,
        "page": False,
    }
    tablet.close()
    coordinator.close()
