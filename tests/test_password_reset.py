"""Password reset by e-mail: the same answer whether the address exists or not; a link on
PUBLIC_URL (else the request's host) holding a single-use, expiring token stored hashed;
a reset ends every other session."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from webapp.models import OutboxMessage, User, UserToken
from webapp.services.passwords import verify_password

from . import factories
from .conftest import AuthActions, csrf_token


@pytest.fixture
def user(session, now):
    group = factories.group(session, now=now)
    return factories.user(session, now=now, group=group, email="ada@example.test", locale="fr")


def ask(client, email):
    response = client.post(
        "/password/forgot",
        data={"email": email, "csrf_token": csrf_token(client, "/password/forgot")},
    )
    return response, client.get("/login").get_data(as_text=True)


def _message(session):
    factories.fresh(session)
    return session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "password_reset"))


def _path(message) -> str:
    link = re.search(r"https?://\S+", message.body).group(0)
    return re.sub(r"^https?://[^/]+", "", link)


def test_the_same_answer_whether_the_address_exists_or_not(client, session, user):
    known, known_page = ask(client, "ada@example.test")
    unknown, unknown_page = ask(client, "nobody@example.test")
    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"]
    sentence = "un lien pour choisir un nouveau mot de passe lui est envoyé"
    assert sentence in known_page and sentence in unknown_page
    factories.fresh(session)
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_the_token_is_stored_hashed_and_the_link_is_absolute(client, session, user):
    ask(client, "ada@example.test")
    message = _message(session)
    assert message.user_id == user.id and message.channel == "email"
    assert "http://localhost/password/reset/" in message.body
    assert "mot de passe" in message.title.lower()  # the account's language
    secret = _path(message).rsplit("/", 1)[1]
    row = session.scalar(select(UserToken))
    assert row.purpose == "reset" and row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in row.token_hash


def test_the_link_uses_public_url_when_set(app, client, session, user):
    app.config["PUBLIC_URL"] = "https://amap.example.org/"
    ask(client, "ada@example.test")
    assert "https://amap.example.org/password/reset/" in _message(session).body


def test_a_reset_changes_the_password_signs_in_and_ends_other_sessions(app, client, session, user):
    phone = app.test_client()
    AuthActions(phone).login("ada@example.test", remember="y")
    assert phone.get("/").status_code == 200
    ask(client, "ada@example.test")
    path = _path(_message(session))
    assert client.get(path).status_code == 200
    response = client.post(
        path, data={"password": "a brand new secret", "csrf_token": csrf_token(client, path)}
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert phone.get("/").status_code == 302  # the other session is over
    factories.fresh(session)
    saved = session.get(User, user.id)
    assert verify_password(saved.password_hash, "a brand new secret")
    assert saved.session_version == 1


def test_a_reset_link_works_once(client, session, user):
    ask(client, "ada@example.test")
    path = _path(_message(session))
    data = {"password": "a brand new secret"}
    client.post(path, data={**data, "csrf_token": csrf_token(client, path)})
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    again = client.post(
        path, data={"password": "another new secret", "csrf_token": csrf_token(client, "/login")}
    )
    assert again.status_code == 410
    assert client.get(path).status_code == 410
    factories.fresh(session)
    assert verify_password(session.get(User, user.id).password_hash, "a brand new secret")


def test_an_expired_reset_link_is_refused(app, client, session, user, now):
    from webapp.services.tokens import issue_token

    _row, secret = issue_token(session, user, "reset", now=now - timedelta(hours=2))
    session.commit()
    path = f"/password/reset/{secret}"
    assert client.get(path).status_code == 410
    response = client.post(
        path, data={"password": "a brand new secret", "csrf_token": csrf_token(client, "/login")}
    )
    assert response.status_code == 410
    factories.fresh(session)
    assert verify_password(session.get(User, user.id).password_hash, factories.PASSWORD)


@pytest.mark.parametrize("token", ["nope", "x" * 300])
def test_an_unknown_reset_link_is_refused(client, token):
    assert client.get(f"/password/reset/{token}").status_code == 410


def test_a_short_new_password_is_refused_and_the_link_stays_usable(client, session, user):
    ask(client, "ada@example.test")
    path = _path(_message(session))
    response = client.post(path, data={"password": "short", "csrf_token": csrf_token(client, path)})
    assert response.status_code == 400 and "au moins 10" in response.get_data(as_text=True)
    assert client.get(path).status_code == 200


def test_a_used_reset_also_spends_the_other_reset_links(client, session, user):
    ask(client, "ada@example.test")
    first = _path(_message(session))
    factories.fresh(session)
    session.query(OutboxMessage).delete()
    session.commit()
    ask(client, "ada@example.test")
    second = _path(_message(session))
    assert first != second
    client.post(
        second, data={"password": "a brand new secret", "csrf_token": csrf_token(client, second)}
    )
    assert client.get(first).status_code == 410
