"""Sessions carry the account's session version: logging out, changing the password or
signing out everywhere makes every earlier session and remember-me cookie worthless."""

import pytest

from webapp.models import User

from . import factories
from .conftest import AuthActions, csrf_token


@pytest.fixture
def user(session, now):
    group = factories.group(session, now=now)
    return factories.user(session, now=now, group=group, email="me@example.test")


def _signed_in(client) -> bool:
    return client.get("/").status_code == 200


def _cookie(client, name):
    cookie = client.get_cookie(name)
    return cookie.value if cookie else None


def _only_cookie(app, name, value):
    """A browser that holds nothing but this cookie (a copy taken by someone else)."""
    other = app.test_client()
    other.set_cookie(name, value, domain="localhost")
    return other


def test_the_session_id_carries_the_version(session, user):
    assert user.get_id() == f"{user.id}:0"


def test_a_session_cookie_replayed_after_logout_is_refused(app, client, auth, user):
    auth.login("me@example.test")
    copied = _cookie(client, "session")
    assert _signed_in(_only_cookie(app, "session", copied))
    auth.logout()
    assert not _signed_in(_only_cookie(app, "session", copied))


def test_a_remember_cookie_replayed_after_logout_is_refused(app, client, auth, user):
    auth.login("me@example.test", remember="y")
    remembered = _cookie(client, "remember_token")
    assert remembered and _signed_in(_only_cookie(app, "remember_token", remembered))
    auth.logout()
    assert not _signed_in(_only_cookie(app, "remember_token", remembered))


def test_changing_the_password_ends_the_other_sessions_not_this_one(app, client, auth, user):
    laptop = app.test_client()
    AuthActions(laptop).login("me@example.test", remember="y")
    laptop_remember = _cookie(laptop, "remember_token")
    auth.login("me@example.test", remember="y")
    response = client.post(
        "/account/password",
        data={
            "csrf_token": csrf_token(client, "/account/"),
            "current_password": factories.PASSWORD,
            "password": "a brand new secret",
        },
    )
    assert response.status_code == 302
    assert _signed_in(client)
    assert not _signed_in(laptop)
    assert not _signed_in(_only_cookie(app, "remember_token", laptop_remember))
    # This device's remember-me cookie was issued again with the new version.
    assert _signed_in(_only_cookie(app, "remember_token", _cookie(client, "remember_token")))


def test_sign_out_everywhere_else_from_the_account_page(app, client, auth, session, user):
    phone = app.test_client()
    AuthActions(phone).login("me@example.test")
    auth.login("me@example.test")
    page = client.get("/account/").get_data(as_text=True)
    assert "/account/sessions/end" in page
    response = client.post(
        "/account/sessions/end", data={"csrf_token": csrf_token(client, "/account/")}
    )
    assert response.status_code == 302
    assert _signed_in(client) and not _signed_in(phone)
    factories.fresh(session)
    assert session.get(User, user.id).session_version == 1


def test_a_session_of_the_old_form_without_version_is_refused(app, client, auth, user):
    auth.login("me@example.test")
    with client.session_transaction() as stored:
        stored["_user_id"] = str(user.id)
    assert not _signed_in(client)


def test_a_forged_version_is_refused(app, client, auth, user):
    auth.login("me@example.test")
    with client.session_transaction() as stored:
        stored["_user_id"] = f"{user.id}:7"
    assert not _signed_in(client)
