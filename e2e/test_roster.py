"""A member signs up for a duty; the tablet sheet shows who is on duty; a push message
delivered to the service worker shows a notification."""

import sqlite3

from playwright.sync_api import expect

from .conftest import login, service_worker

TABLET = {"width": 1024, "height": 768}


def test_sign_up_for_a_role_and_see_it_on_the_sheet(browser, base_url, server):
    with sqlite3.connect(server.instance / "e2e.sqlite3") as db:
        group_id = db.execute("SELECT id FROM groups").fetchone()[0]
        db.execute(
            "INSERT OR IGNORE INTO duty_roles (group_id, name, needed) VALUES (?, 'caisse', 2)",
            (group_id,),
        )
    member = browser.new_context(
        viewport={"width": 390, "height": 844}, base_url=base_url, locale="fr-FR"
    )
    page = member.new_page()
    login(page, "member@demo.test")
    page.goto("/roster/")
    card = page.locator(".card").first
    card.get_by_role("button", name="Je m’inscris : caisse").click()
    expect(page.get_by_text("Marie Lefebvre est de permanence : caisse.")).to_be_visible()
    member.close()

    with sqlite3.connect(server.instance / "e2e.sqlite3") as db:
        distribution_id = db.execute(
            "SELECT distribution_id FROM duty_assignments WHERE role_name = 'caisse'"
        ).fetchone()[0]
        db.execute(
            "UPDATE distributions SET orders_close_at = datetime('now', '-1 minute') WHERE id = ? "
            "AND orders_close_at > datetime('now')",
            (distribution_id,),
        )
    coordinator = browser.new_context(viewport=TABLET, base_url=base_url, locale="fr-FR")
    sheet = coordinator.new_page()
    login(sheet, "coordinator@demo.test")
    sheet.goto(f"/distributions/{distribution_id}/sheet")
    sheet.wait_for_selector("body[data-ready=true]")
    expect(sheet.locator("#on-duty")).to_contain_text("Marie Lefebvre (caisse)")
    coordinator.close()


def test_the_service_worker_shows_a_pushed_notification(browser, base_url):
    context = browser.new_context(viewport=TABLET, base_url=base_url, locale="fr-FR")
    context.grant_permissions(["notifications"], origin=base_url)
    page = context.new_page()
    login(page, "member@demo.test")
    page.goto("/account/notifications")
    page.evaluate("navigator.serviceWorker.ready")
    cdp, registration_id = service_worker(context, page, base_url)
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {
            "origin": base_url,
            "registrationId": registration_id,
            "data": '{"title": "Les commandes sont ouvertes", "body": "Commandez vite", "url": "/"}',
        },
    )
    shown = []
    for _ in range(20):
        shown = page.evaluate(
            "navigator.serviceWorker.ready.then(r => r.getNotifications())"
            ".then(list => list.map(n => n.title + '|' + n.body))"
        )
        if shown:
            break
        page.wait_for_timeout(200)
    assert shown == ["Les commandes sont ouvertes|Commandez vite"]
    context.close()
