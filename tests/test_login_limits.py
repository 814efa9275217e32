"""Login attempts are limited per account (whatever the address), per address (whatever
the account) and overall, in the database every process shares; the count survives the
failed login's rollback; the owner of an account under attack still gets in with a
one-time link by e-mail; the password hash never runs while holding the write lock."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from webapp.models import OutboxMessage, RateLimitHit
from webapp.services import passwords, ratelimit
from webapp.web import auth as auth_views

from . import factories
from .conftest import csrf_token


@pytest.fixture
def limits_on(app):
    app.config["RATELIMIT_ENABLED"] = True
    return app


@pytest.fixture
def owner(session, now):
    group = factories.group(session, now=now)
    return factories.user(session, now=now, group=group, email="ada@example.test")


def attempt(client, email, password="wrong password!", address="203.0.113.1"):
    token = csrf_token(client)
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token},
        environ_base={"REMOTE_ADDR": address},
    )


def _hits(session) -> int:
    factories.fresh(session)
    return session.scalar(select(func.count()).select_from(RateLimitHit))


def test_a_failed_attempt_is_counted_although_the_login_rolls_back(
    limits_on, client, session, owner
):
    assert attempt(client, "ada@example.test").status_code == 400
    assert _hits(session) == 3  # the account, the address, the whole site


def test_a_successful_login_counts_nothing(limits_on, client, session, owner):
    assert attempt(client, "ada@example.test", factories.PASSWORD).status_code == 302
    assert _hits(session) == 0


def test_an_account_is_limited_whatever_the_address(limits_on, client, owner):
    for n in range(auth_views.LOGIN_ACCOUNT.amount):
        assert attempt(client, "ada@example.test", address=f"198.51.100.{n}").status_code == 400
    # Even the right password, from yet another address, is not tried now.
    refused = attempt(client, "ADA@example.test", factories.PASSWORD, address="192.0.2.77")
    assert refused.status_code == 303 and refused.headers["X-Refused"] == "429"
    page = client.get("/login").get_data(as_text=True)  # where the refusal's message shows
    assert "lien à usage unique" in page and "/login/link" in page
    assert client.get("/").status_code == 302
    # Another account is not affected.
    assert attempt(client, "bob@example.test", address="192.0.2.77").status_code == 400


def test_an_address_is_limited_whatever_the_account(limits_on, client, owner):
    for n in range(auth_views.LOGIN_ADDRESS.amount):
        assert attempt(client, f"guess{n}@example.test").status_code == 400
    refused = attempt(client, "ada@example.test", factories.PASSWORD)
    assert refused.headers.get("X-Refused") == "429"
    # The owner, from their own address, is not punished for someone else's guesses.
    assert attempt(client, "ada@example.test", factories.PASSWORD, "192.0.2.9").status_code == 302


def test_an_ipv6_address_is_counted_by_its_64(limits_on, client, owner):
    assert ratelimit.address_key("2001:db8:1:2::1") == ratelimit.address_key("2001:db8:1:2::ff")
    assert ratelimit.address_key("::ffff:192.0.2.1") == "192.0.2.1"


def test_the_whole_site_is_limited(limits_on, client, owner, monkeypatch):
    monkeypatch.setattr(
        auth_views, "LOGIN_ALL", ratelimit.Limit("login-all", 5, timedelta(minutes=15))
    )
    for n in range(5):
        assert attempt(client, f"g{n}@example.test", address=f"198.51.100.{n}").status_code == 400
    assert attempt(client, "new@example.test", address="192.0.2.200").headers["X-Refused"] == "429"


def test_old_hits_leave_the_window_and_are_pruned(limits_on, app, session, now):
    with app.app_context():
        counter = ratelimit.DatabaseCounter(app.extensions["sqlalchemy"].engine)
    checks = [(auth_views.LOGIN_ACCOUNT, "k")]
    for _ in range(10):
        ratelimit.record(counter, checks, now=now - timedelta(days=2))
    assert ratelimit.exceeded(counter, checks, now=now - timedelta(days=2)) is not None
    assert ratelimit.exceeded(counter, checks, now=now) is None
    ratelimit.record(counter, checks, now=now)
    assert _hits(session) == 1  # the old ones are gone


def test_redis_is_chosen_by_its_uri(app):
    from webapp.extensions import db

    with app.app_context():
        assert isinstance(ratelimit.counter_for({}, db.engine), ratelimit.DatabaseCounter)
        memory = {"RATELIMIT_STORAGE_URI": "memory://"}  # per process: never used
        assert isinstance(ratelimit.counter_for(memory, db.engine), ratelimit.DatabaseCounter)
        redis = {"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0"}
        assert isinstance(ratelimit.counter_for(redis, db.engine), ratelimit.LimitsCounter)


def _link(session, kind):
    factories.fresh(session)
    message = session.scalar(select(OutboxMessage).where(OutboxMessage.kind == kind))
    return message, (re.search(r"https?://\S+", message.body).group(0) if message else None)


def test_the_owner_of_an_account_under_attack_gets_in_with_an_emailed_link(
    limits_on, app, client, session, owner
):
    for n in range(auth_views.LOGIN_ACCOUNT.amount):
        attempt(client, "ada@example.test", address=f"198.51.100.{n}")
    response = client.post(
        "/login/link",
        data={"email": "ada@example.test", "csrf_token": csrf_token(client, "/login/link")},
    )
    assert response.status_code == 302
    message, link = _link(session, "signin_link")
    assert message.channel == "email" and message.user_id == owner.id
    assert link.startswith("http://localhost/login/link/")
    path = link.removeprefix("http://localhost")
    assert client.get(path).status_code == 200  # a page with a button: opening signs nobody in
    assert client.get("/").status_code == 302
    confirmed = client.post(path, data={"csrf_token": csrf_token(client, path)})
    assert confirmed.status_code == 302 and client.get("/").status_code == 200
    # Used once.
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    again = client.post(path, data={"csrf_token": csrf_token(client, "/login")})
    assert again.headers.get("X-Refused") == "410"
    assert client.get("/").status_code == 302
    assert client.get(path).status_code == 410


def test_a_link_for_an_unknown_address_gets_the_same_answer_and_no_mail(
    limits_on, client, session, owner
):
    answers = []
    for email in ("ada@example.test", "nobody@example.test"):
        response = client.post(
            "/login/link", data={"email": email, "csrf_token": csrf_token(client, "/login/link")}
        )
        answers.append((response.status_code, client.get("/login").get_data(as_text=True)))
    assert answers[0][0] == answers[1][0] == 302
    assert "un lien de connexion lui est envoyé" in answers[1][1]
    factories.fresh(session)
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_links_by_email_are_limited_per_account(limits_on, client, session, owner):
    for _ in range(auth_views.MAIL_ACCOUNT.amount + 2):
        client.post(
            "/login/link",
            data={"email": "ada@example.test", "csrf_token": csrf_token(client, "/login/link")},
        )
    factories.fresh(session)
    count = session.scalar(select(func.count()).select_from(OutboxMessage))
    assert count == auth_views.MAIL_ACCOUNT.amount


def test_an_expired_signin_link_is_refused(limits_on, app, client, session, owner, now):
    from webapp.services.tokens import issue_token

    _row, secret = issue_token(session, owner, "signin", now=now - timedelta(hours=1))
    session.commit()
    assert client.get(f"/login/link/{secret}").status_code == 410


@pytest.mark.parametrize("right", [True, False])
def test_no_write_lock_is_held_while_a_login_hashes(app, client, owner, monkeypatch, right):
    """Another writer (the shop, a tablet's sync) gets the lock while the password is
    being checked: a write with a short busy timeout succeeds from inside the hash."""
    from webapp.extensions import db

    with app.app_context():
        engine = db.engine
    writes = []
    real_verify = passwords.verify_password

    def slow_verify(stored, password):
        raw = engine.raw_connection()  # a connection of its own, as another request has
        try:
            cursor = raw.cursor()
            if engine.dialect.name == "sqlite":
                cursor.execute("PRAGMA busy_timeout=200")  # fails fast if the lock is held
                cursor.execute("BEGIN IMMEDIATE")
            cursor.execute(
                "INSERT INTO rate_limit_hits (scope, key, at) VALUES ('t', 'w', '2026-01-01')"
            )
            raw.commit() if engine.dialect.name != "sqlite" else cursor.execute("COMMIT")
            writes.append("written")
        finally:
            raw.close()
        return real_verify(stored, password)

    monkeypatch.setattr(passwords, "verify_password", slow_verify)
    password = factories.PASSWORD if right else "wrong password!"
    response = attempt(client, "ada@example.test", password)
    assert response.status_code == (302 if right else 400)
    assert writes == ["written"]
