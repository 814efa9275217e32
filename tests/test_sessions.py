"""Sessions carry the account's session version and their device's key: logging out ends
this device's sign-in (a copy of its cookies is then worthless) and leaves the others;
changing the password or signing out everywhere ends every other one."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from webapp.models import LoginSession, User
from webapp.services.tokens import start_session

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


def _sign_ins(session, user) -> int:
    factories.fresh(session)
    return session.scalar(
        select(func.count()).select_from(LoginSession).where(LoginSession.user_id == user.id)
    )


def test_logging_out_ends_this_device_only(app, client, auth, session, user):
    phone = app.test_client()
    AuthActions(phone).login("me@example.test", remember="y")
    auth.login("me@example.test", remember="y")
    with client.session_transaction() as stored:
        ident = stored["_user_id"]
    assert ident.startswith(f"{user.id}:0:") and len(ident.split(":")[2]) >= 20
    copied = _cookie(client, "session")
    remembered = _cookie(client, "remember_token")
    assert _sign_ins(session, user) == 2
    auth.logout()
    assert not _signed_in(client)
    assert not _signed_in(_only_cookie(app, "session", copied))
    assert not _signed_in(_only_cookie(app, "remember_token", remembered))
    assert _signed_in(phone)  # the phone stays signed in
    assert _sign_ins(session, user) == 1
    factories.fresh(session)
    assert session.get(User, user.id).session_version == 0


@pytest.mark.parametrize(
    "forged",
    ["{id}:0:" + "x" * 32, "{id}:0:short", "{id}:0:{key}:more", "{id}:0:" + "é" * 30],
)
def test_an_unknown_or_malformed_device_key_is_refused(client, auth, user, forged):
    auth.login("me@example.test")
    with client.session_transaction() as stored:
        key = stored["_user_id"].split(":")[2]
        stored["_user_id"] = forged.format(id=user.id, key=key)
    assert not _signed_in(client)


def test_a_sign_in_from_before_devices_were_told_apart_still_holds_and_logs_out_all(
    app, client, auth, session, user
):
    phone = app.test_client()
    AuthActions(phone).login("me@example.test")
    auth.login("me@example.test")
    with client.session_transaction() as stored:
        stored["_user_id"] = f"{user.id}:0"  # as issued before this version
    assert _signed_in(client)
    auth.logout()  # no key to end one sign-in with: all of them end
    assert not _signed_in(phone)
    factories.fresh(session)
    assert session.get(User, user.id).session_version == 1


def test_signing_out_everywhere_forgets_the_other_devices_sign_ins(
    app, client, auth, session, user
):
    for _ in range(3):
        AuthActions(app.test_client()).login("me@example.test")
    auth.login("me@example.test")
    assert _sign_ins(session, user) == 4
    client.post("/account/sessions/end", data={"csrf_token": csrf_token(client, "/account/")})
    assert _signed_in(client) and _sign_ins(session, user) == 1


def test_sign_ins_older_than_any_cookie_are_forgotten(session, now, user):
    start_session(session, user, now=now - timedelta(days=10))
    start_session(session, user, now=now - timedelta(days=500))
    session.commit()
    assert _sign_ins(session, user) == 2
    start_session(session, user, now=now)
    session.commit()
    assert _sign_ins(session, user) == 2  # the 500-day-old one is gone


def test_signing_in_again_on_a_browser_ends_the_sign_in_it_had(app, client, auth, session, user):
    auth.login("me@example.test", remember="y")
    first = _cookie(client, "remember_token")
    auth.login("me@example.test", remember="y")  # again, on the same browser
    assert _sign_ins(session, user) == 1
    auth.logout()
    assert not _signed_in(_only_cookie(app, "remember_token", first))


def test_a_sign_in_older_than_any_cookie_is_refused(app, client, auth, session, now, user):
    auth.login("me@example.test")
    key = start_session(session, user, now=now - timedelta(days=401))
    session.commit()
    with client.session_transaction() as stored:
        stored["_user_id"] = f"{user.id}:0:{key}"
    assert not _signed_in(client)
