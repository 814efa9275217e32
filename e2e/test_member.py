"""A member on a phone: log in, order, change, reload, and the close."""

import re
import sqlite3
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from .conftest import login, watch_console


def _open_distribution_id(page) -> int:
    page.goto("/")
    href = page.get_by_role(
        "button", name=re.compile("Commander|Modifier ma commande")
    ).first.get_attribute("href")
    return int(re.search(r"/distributions/(\d+)/shop", href).group(1))


def _euros(text: str) -> int:
    digits = re.sub(r"[^\d,]", "", text).replace(",", ".")
    return round(float(digits) * 100)


def test_member_logs_in_on_a_phone_and_sees_the_distributions(phone, console_errors):
    page = phone.new_page()
    watch_console(page, console_errors)
    login(page, "member@demo.test")
    expect(page.get_by_role("heading", name="Bonjour Marie")).to_be_visible()
    expect(page.get_by_text("Mon solde")).to_be_visible()
    # the demo's distribution open for orders (other browser tests may open more on the
    # same server: at least one)
    expect(page.locator(".badge-open").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert console_errors == []


def test_wrong_password_shows_one_neutral_message(phone):
    page = phone.new_page()
    page.goto("/login")
    page.get_by_label("E-mail").fill("member@demo.test")
    page.get_by_label("Mot de passe").fill("nope")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_text("E-mail inconnu ou mot de passe incorrect.")).to_be_visible()


def test_member_orders_three_products_changes_one_and_finds_the_order_after_reload(
    phone, console_errors
):
    page = phone.new_page()
    watch_console(page, console_errors)
    login(page, "member@demo.test")
    distribution_id = _open_distribution_id(page)
    page.goto(f"/distributions/{distribution_id}/shop")
    total = page.locator("#basket-bar strong")
    start = _euros(total.inner_text())

    for name in ("Pain de campagne", "Poireaux", "Faisselle"):
        row = page.locator(".product", has=page.get_by_role("heading", name=name, exact=True))
        before = total.inner_text()
        row.get_by_role("button", name=f"Un de plus : {name}").click()
        expect(total).not_to_have_text(before)
    bread = page.locator(
        ".product", has=page.get_by_role("heading", name="Pain de campagne", exact=True)
    )
    before = total.inner_text()
    bread.get_by_role("button", name="Un de plus : Pain de campagne").click()
    expect(total).not_to_have_text(before)
    expect(bread.get_by_role("textbox", name="Quantité de Pain de campagne")).to_have_value(
        re.compile(r"^[1-9]")
    )
    after = _euros(total.inner_text())
    assert after > start

    page.reload()
    expect(page.locator("#basket-bar strong")).to_have_text(total.inner_text())
    assert _euros(page.locator("#basket-bar strong").inner_text()) == after
    # typed quantity, then the change event saves it
    before = page.locator("#basket-bar strong").inner_text()
    leeks = page.get_by_role("textbox", name="Quantité de Poireaux")
    typed = str(int(leeks.input_value()) + 2)
    leeks.fill(typed)
    leeks.dispatch_event("change")
    expect(page.locator("#basket-bar strong")).not_to_have_text(before)
    page.reload()
    expect(page.get_by_role("textbox", name="Quantité de Poireaux")).to_have_value(typed)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert console_errors == []


def test_after_the_close_the_page_refuses_changes(phone, server):
    page = phone.new_page()
    login(page, "member@demo.test")
    distribution_id = _open_distribution_id(page)
    page.goto(f"/distributions/{distribution_id}/shop")
    db = sqlite3.connect(server.instance / "e2e.sqlite3")
    (saved,) = db.execute(
        "SELECT orders_close_at FROM distributions WHERE id = ?", (distribution_id,)
    ).fetchone()
    past = (datetime.now(UTC) - timedelta(minutes=1)).replace(tzinfo=None).isoformat(sep=" ")
    try:
        db.execute(
            "UPDATE distributions SET orders_close_at = ? WHERE id = ?", (past, distribution_id)
        )
        db.commit()
        name = "Baguette tradition"
        row = page.locator(".product", has=page.get_by_role("heading", name=name, exact=True))
        row.get_by_role("button", name=f"Un de plus : {name}").click()
        expect(page.get_by_text(re.compile("Commandes fermées le"))).to_be_visible()
        page.reload()
        expect(
            page.get_by_text("Les commandes sont fermées : votre panier ne peut plus changer.")
        ).to_be_visible()
        expect(page.get_by_role("button", name=f"Un de plus : {name}")).to_have_count(0)
    finally:
        db.execute(
            "UPDATE distributions SET orders_close_at = ? WHERE id = ?", (saved, distribution_id)
        )
        db.commit()
        db.close()


def test_the_shop_works_without_javascript(browser, base_url):
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        base_url=base_url,
        locale="fr-FR",
        java_script_enabled=False,
    )
    page = context.new_page()
    login(page, "member@demo.test")
    page.goto("/")
    href = page.get_by_role(
        "button", name=re.compile("Commander|Modifier ma commande")
    ).first.get_attribute("href")
    page.goto(href)
    field = page.get_by_role("textbox", name="Quantité de Pain complet")
    start = int(field.input_value())
    page.get_by_role("button", name="Un de plus : Pain complet").click()
    page.wait_for_load_state()
    expect(page.get_by_text("Votre commande est enregistrée.")).to_be_visible()
    expect(page.get_by_role("textbox", name="Quantité de Pain complet")).to_have_value(
        str(start + 1)
    )
    # Enter in a field saves what was typed (the form's hidden default button), and does not
    # press the first product's −
    page.goto(href)  # the message above gone
    first_value = page.locator(".product").first.locator("input[name^=q-]").input_value()
    field = page.get_by_role("textbox", name="Quantité de Pain complet")
    field.fill(str(start + 3))
    field.press("Enter")
    page.wait_for_load_state()
    expect(page.get_by_text("Votre commande est enregistrée.")).to_be_visible()
    page.goto(href)
    expect(page.get_by_role("textbox", name="Quantité de Pain complet")).to_have_value(
        str(start + 3)
    )
    expect(page.locator(".product").first.locator("input[name^=q-]")).to_have_value(first_value)
    # a quantity typed, then + pressed on another product: both are saved
    typed = page.get_by_role("textbox", name="Quantité de Yaourts nature")
    yoghurts = int(typed.input_value()) + 2
    typed.fill(str(yoghurts))
    page.get_by_role("button", name="Un de plus : Pain complet").click()
    page.wait_for_load_state()
    page.goto(href)
    expect(page.get_by_role("textbox", name="Quantité de Yaourts nature")).to_have_value(
        str(yoghurts)
    )
    expect(page.get_by_role("textbox", name="Quantité de Pain complet")).to_have_value(
        str(start + 4)
    )
    context.close()


def test_quick_taps_on_several_products_all_count_and_enter_saves_the_field_typed_in(
    phone, console_errors
):
    """The list is one form: taps queue (none dropped, a second tap counts from the first's
    answer), each changes its own product, and Enter saves the field it was pressed in."""
    page = phone.new_page()
    watch_console(page, console_errors)
    login(page, "member@demo.test")
    page.goto(f"/distributions/{_open_distribution_id(page)}/shop")
    first = page.locator(".product").first.locator("h3").inner_text()
    names = [first, "Yaourts nature", "Biscuits sablés"]
    fields = {name: page.get_by_role("textbox", name=f"Quantité de {name}") for name in names}
    start = {name: int(field.input_value()) for name, field in fields.items()}
    # four taps in one go, before any answer: twice on the first product
    page.evaluate(
        """(names) => {
          for (const name of [...names, names[0]]) {
            const heading = [...document.querySelectorAll(".product h3")]
              .find((h) => h.textContent === name);
            heading.closest(".product").querySelector("button[name=inc]").click();
          }
        }""",
        names,
    )
    expected = {name: start[name] + (2 if name == first else 1) for name in names}
    for name, field in fields.items():
        expect(field).to_have_value(str(expected[name]))
    page.reload()
    for name in names:
        expect(page.get_by_role("textbox", name=f"Quantité de {name}")).to_have_value(
            str(expected[name])
        )
    # Enter in a field saves it, and leaves the first product (its − enabled) alone
    total = page.locator("#basket-bar strong")
    before = total.inner_text()
    field = page.get_by_role("textbox", name="Quantité de Yaourts nature")
    field.fill(str(expected["Yaourts nature"] + 3))
    field.press("Enter")
    expect(total).not_to_have_text(before)
    page.reload()
    expect(page.get_by_role("textbox", name="Quantité de Yaourts nature")).to_have_value(
        str(expected["Yaourts nature"] + 3)
    )
    expect(page.get_by_role("textbox", name=f"Quantité de {first}")).to_have_value(
        str(expected[first])
    )
    assert console_errors == []
