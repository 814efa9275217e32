"""A member on a phone."""

from playwright.sync_api import expect

from .conftest import login, watch_console


def test_member_logs_in_on_a_phone_and_sees_the_distributions(phone, console_errors):
    page = phone.new_page()
    watch_console(page, console_errors)
    login(page, "member@demo.test")
    expect(page.get_by_role("heading", name="Bonjour Marie")).to_be_visible()
    expect(page.get_by_text("Mon solde")).to_be_visible()
    expect(page.locator(".badge-open")).to_have_count(1)
    # no horizontal scrolling on a phone
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert console_errors == []


def test_wrong_password_shows_one_neutral_message(phone):
    page = phone.new_page()
    page.goto("/login")
    page.get_by_label("E-mail").fill("member@demo.test")
    page.get_by_label("Mot de passe").fill("nope")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_text("E-mail inconnu ou mot de passe incorrect.")).to_be_visible()
