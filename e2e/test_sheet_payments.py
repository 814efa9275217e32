"""Money on the tablet sheet: a double tap records one payment, an overpayment is asked
first and shown plainly, the change said is the change for the payment being made."""

import json
import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .conftest import PHONE, TABLET, login
from .test_volunteer import (
    cents_of,
    closed_distribution,
    db,
    euros,
    open_sheet,
    wait_synced,
)

# Baskets of the closed demo distribution that only these tests touch
# (test_volunteer.py's USED_BY_OTHER_TESTS lists them too).
DOUBLE_TAP, OVERPAID, CHANGE, PHONE_BASKET = 6, 7, 8, 9


def money_events(server, distribution_id, number) -> list[tuple[str, str]]:
    """(kind, payload) of the payments and voids the server stored for a basket."""
    with db(server) as conn:
        return conn.execute(
            """SELECT e.kind, e.payload FROM sheet_events e JOIN baskets b ON b.id = e.basket_id
               WHERE e.distribution_id = ? AND b.number = ?
                 AND e.kind IN ('payment', 'payment_void')""",
            (distribution_id, number),
        ).fetchall()


def open_basket(page, number: int):
    page.locator("#search").fill(str(number))
    row = page.locator(f'.basket-row:has(.basket-number:text-is("#{number}"))')
    row.click()
    expect(page.locator("#detail")).to_have_attribute(
        "data-basket", row.get_attribute("data-basket")
    )
    return row


def remaining(page) -> int:
    return cents_of(page.locator(".detail-money .remaining").inner_text())


def typed(cents: int) -> str:
    return f"{cents // 100},{cents % 100:02d}"


def shoot(page, name: str, centre: str | None = None) -> None:
    """Screenshots to look at (SHEET_SHOTS=<folder>): what a volunteer sees, `centre`
    in the middle of the screen (clear of the sticky headers)."""
    folder = os.environ.get("SHEET_SHOTS")
    if folder:
        if centre:
            page.locator(centre).evaluate("e => e.scrollIntoView({block: 'center'})")
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{folder}/{name}.png")


@pytest.fixture
def tablet(browser, base_url):
    context = browser.new_context(
        viewport=TABLET, base_url=base_url, locale="fr-FR", has_touch=True
    )
    yield context
    context.close()


@pytest.fixture
def sheet(tablet, server):
    d = closed_distribution(server)
    page = tablet.new_page()
    login(page, "volunteer@demo.test")
    open_sheet(page, d)
    return page, d


def test_a_double_click_on_a_payment_records_one_payment(sheet, server):
    page, d = sheet
    before = money_events(server, d, DOUBLE_TAP)
    open_basket(page, DOUBLE_TAP)
    due = remaining(page)
    assert due > 0
    cash = page.locator('.pay-button[data-method="cash"]')
    expect(cash).to_have_text(f"Espèces {euros(due)}")
    cash.dblclick()
    expect(page.locator(".detail-money .paid")).to_have_text(euros(due))
    expect(page.locator(".detail-money .remaining")).to_have_text(euros(0))
    expect(page.locator(".payments li")).to_have_count(1)
    expect(page.locator(".overpaid-note")).to_have_count(0)
    # a slow second tap on the same amount, before the screen seemed to answer
    page.wait_for_timeout(300)
    page.locator("#pay-amount").fill(typed(due))
    cash.click()
    expect(page.locator("#money-note")).to_have_text(
        "Double appui\u00a0: enregistré une seule fois."
    )
    expect(page.locator(".payments li")).to_have_count(1)
    wait_synced(page)
    after = money_events(server, d, DOUBLE_TAP)
    assert [kind for kind, _ in after[len(before) :]] == ["payment"]


def test_a_double_click_on_cancel_cancels_one_payment_only(sheet, server):
    page, d = sheet
    open_basket(page, DOUBLE_TAP)
    page.wait_for_timeout(2100)  # the last payment's double-tap guard is over
    # a second payment, confirmed as an overpayment: two payments to cancel
    page.locator("#pay-amount").fill("1")
    page.locator('.pay-button[data-method="cheque"]').click()
    page.get_by_role("button", name="Enregistrer quand même").click()
    expect(page.locator(".payments li")).to_have_count(2)
    wait_synced(page)
    before = money_events(server, d, DOUBLE_TAP)
    page.wait_for_timeout(1100)
    page.locator(".payments li").last.get_by_role("button", name="Annuler").dblclick()
    expect(page.locator(".payments li")).to_have_count(1)
    expect(page.locator(".detail-money .remaining")).to_have_text(euros(0))
    wait_synced(page)
    after = money_events(server, d, DOUBLE_TAP)
    assert [kind for kind, _ in after[len(before) :]] == ["payment_void"]


def test_an_overpayment_is_asked_first_then_shown_in_the_panel_and_the_list(sheet, server):
    page, d = sheet
    before = money_events(server, d, OVERPAID)
    row = open_basket(page, OVERPAID)
    due = remaining(page)
    page.locator('.pay-button[data-method="cash"]').click()
    expect(page.locator(".detail-money .remaining")).to_have_text(euros(0))
    page.wait_for_timeout(1100)

    # a cheque of 5 € on a basket paid in full: asked, not recorded
    page.locator("#pay-amount").fill("5")
    page.locator('.pay-button[data-method="cheque"]').click()
    confirm = page.locator("#overpay-confirm")
    expect(confirm).to_be_visible()
    expect(confirm).to_contain_text(
        f"Ce paiement de {euros(500)} dépasse le reste à payer ({euros(0)})"
        f"\u00a0: le panier aurait un trop-perçu de {euros(500)}."
    )
    shoot(page, "tablet-overpay-confirm")
    page.get_by_role("button", name="Ne pas l’enregistrer").click()
    expect(confirm).to_be_hidden()
    expect(page.locator(".payments li")).to_have_count(1)

    # asked again and confirmed: recorded once, and said plainly
    page.locator('.pay-button[data-method="cheque"]').click()
    page.get_by_role("button", name=f"Enregistrer quand même\u00a0: Chèque {euros(500)}").click()
    expect(page.locator(".payments li")).to_have_count(2)
    expect(page.locator(".detail-money dt").nth(2)).to_have_text("Trop-perçu")
    expect(page.locator(".detail-money .overpaid")).to_have_text(euros(500))
    expect(page.locator(".overpaid-note")).to_contain_text(f"Trop-perçu\u00a0: {euros(500)}")
    expect(row.locator(".basket-state")).to_contain_text(f"Trop-perçu\u00a0: {euros(500)}")
    assert "is-overpaid" in row.get_attribute("class")
    shoot(page, "tablet-overpaid")
    wait_synced(page)
    after = money_events(server, d, OVERPAID)
    assert [kind for kind, _ in after[len(before) :]] == ["payment", "payment"]
    assert sorted(cents_of_payload(p) for _, p in after[len(before) :]) == sorted([due, 500])

    # cancelled: the basket is paid exactly again
    page.wait_for_timeout(1100)
    page.locator(".payments li").last.get_by_role("button", name="Annuler").click()
    expect(page.locator(".detail-money .remaining")).to_have_text(euros(0))
    expect(page.locator(".overpaid-note")).to_have_count(0)
    expect(row.locator(".basket-state")).not_to_contain_text("Trop-perçu")


def cents_of_payload(payload: str) -> int:
    return json.loads(payload)["amount_cents"]


def test_the_change_shown_is_for_the_payment_being_made(sheet, server):
    page, d = sheet
    open_basket(page, CHANGE)
    due = remaining(page)
    given = (due // 1000 + 1) * 1000  # a note of 10 € (or more) above the amount
    page.locator("#cash-given").fill(str(given // 100))
    change = page.locator("#change")
    expect(change).to_have_text(
        f"Monnaie à rendre\u00a0: {euros(given - due)} ({euros(given)} − {euros(due)})"
    )
    change.scroll_into_view_if_needed()
    shoot(page, "tablet-change-typed")
    # a part paid in cash: the change follows the amount typed
    page.locator("#pay-amount").fill(typed(due - 100))
    expect(change).to_contain_text(euros(given - due + 100))
    page.locator("#pay-amount").fill(typed(due))
    page.locator('.pay-button[data-method="cash"]').click()
    expect(page.locator(".detail-money .remaining")).to_have_text(euros(0))
    # once paid: the cash counted left the field, the change is said for that payment only
    expect(page.locator("#cash-given")).to_have_value("")
    expect(change).to_have_text("")
    expect(page.locator(".cash-note")).to_have_text(
        f"Reçu {euros(given)} pour {euros(due)}\u00a0: rendre {euros(given - due)}"
    )
    page.locator(".pay-buttons").scroll_into_view_if_needed()
    shoot(page, "tablet-change-after")
    # cash typed on a basket with nothing left to pay: no change to read
    page.locator("#cash-given").fill(str(given // 100))
    expect(change).to_have_text("")
    # not enough cash for the amount: said as missing, never as change
    page.locator("#pay-amount").fill(typed(given + 140))
    expect(change).to_have_text("Pas assez d’espèces\u00a0: il manque 1,40\u00a0€")
    # the note goes with its payment
    page.locator("#pay-amount").fill("")
    page.wait_for_timeout(1100)
    page.locator(".payments li").first.get_by_role("button", name="Annuler").click()
    expect(page.locator(".cash-note")).to_have_count(0)


def test_on_a_phone_the_overpayment_question_and_the_change_fit(browser, base_url, server):
    context = browser.new_context(
        viewport=PHONE, base_url=base_url, locale="fr-FR", has_touch=True, is_mobile=True
    )
    page = context.new_page()
    login(page, "volunteer@demo.test")
    d = closed_distribution(server)
    open_sheet(page, d)
    open_basket(page, PHONE_BASKET)
    due = remaining(page)
    given = (due // 1000 + 1) * 1000
    page.locator("#cash-given").fill(str(given // 100))
    shoot(page, "phone-change-typed", centre="#change")
    expect(page.locator("#change")).to_contain_text(euros(given - due))
    page.locator('.pay-button[data-method="cash"]').tap()
    expect(page.locator(".cash-note")).to_be_visible()
    page.wait_for_timeout(1100)
    page.locator("#pay-amount").fill("5")
    page.locator('.pay-button[data-method="cheque"]').tap()
    yes = page.get_by_role("button", name="Enregistrer quand même")
    expect(yes).to_be_visible()
    shoot(page, "phone-overpay-confirm", centre="#overpay-confirm")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    box = yes.bounding_box()
    assert box["height"] >= 44 and box["x"] + box["width"] <= PHONE["width"]
    yes.tap()
    expect(page.locator(".overpaid-note")).to_be_visible()
    shoot(page, "phone-overpaid", centre=".overpaid-note")
    context.close()
