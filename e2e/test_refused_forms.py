"""A plain form the server refuses comes back with what was typed (static/js/app.js)."""

from playwright.sync_api import expect

from .conftest import login, watch_console


def test_a_refused_form_keeps_what_was_typed_and_a_saved_one_starts_afresh(
    browser, base_url, console_errors
):
    context = browser.new_context(
        viewport={"width": 1024, "height": 768}, base_url=base_url, locale="fr-FR"
    )
    page = context.new_page()
    watch_console(page, console_errors)
    login(page, "coordinator@demo.test")
    page.goto("/members/balances")
    page.get_by_label("Nom ou e-mail").fill("member@demo.test")
    page.get_by_role("button", name="Chercher").click()
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(1)
    rows.first.get_by_role("link").click()
    form = page.locator("#record form")
    key = form.locator("input[name=form_key]").input_value()
    form.get_by_label("Type").select_option("refund")
    form.get_by_label("Montant (€)").fill("-3")
    form.get_by_label("Note").fill("Chèque n° 123")
    form.get_by_role("button", name="Enregistrer").click()
    expect(page.locator("#flashes .flash-error")).to_be_visible()
    form = page.locator("#record form")
    expect(form.get_by_label("Montant (€)")).to_have_value("-3")
    expect(form.get_by_label("Note")).to_have_value("Chèque n° 123")
    expect(form.get_by_label("Type")).to_have_value("refund")
    assert form.locator("input[name=form_key]").input_value() != key  # the page's fresh one
    form.get_by_label("Montant (€)").fill("3")
    form.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_text("Enregistré.")).to_be_visible()
    form = page.locator("#record form")
    expect(form.get_by_label("Note")).to_have_value("")
    expect(form.get_by_label("Montant (€)")).to_have_value("")
    assert console_errors == []
    context.close()
