"""Login limits in Redis (`RATELIMIT_STORAGE_URI=redis://…`), against a real
`redis-server` (Debian's package, started here on a free port): the limits hold across
app processes that share nothing but Redis, nothing is written to the database's table
while Redis answers, and a Redis that goes away neither fails a login nor lifts the limits
(the database counts meanwhile)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from datetime import timedelta

import pytest
import redis
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import RateLimitHit
from webapp.services import ratelimit
from webapp.web import auth as auth_views

from . import factories
from .conftest import fresh_app
from .test_login_limits import attempt

REDIS_SERVER = shutil.which("redis-server")
if REDIS_SERVER is None:
    if os.environ.get("CI"):
        raise RuntimeError("redis-server is missing (make redis installs it)")
    pytest.skip("redis-server is not installed (make redis)", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def redis_uri(tmp_path_factory):
    folder = tmp_path_factory.mktemp("redis")
    for _attempt in range(3):
        port = _free_port()
        server = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.exceptions.ConnectionError:
                if server.poll() is not None:
                    break
                time.sleep(0.05)
        else:
            server.kill()
            continue
        if server.poll() is None:
            break
    else:
        pytest.fail("redis-server did not start")
    yield f"redis://127.0.0.1:{port}/0"
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture
def redis_client(redis_uri):
    client = redis.Redis.from_url(redis_uri)
    client.flushall()
    yield client
    client.close()


@pytest.fixture
def instances(database, tmp_path, redis_uri, redis_client):
    """Two apps on the same database and the same Redis, as two machines would run them."""
    apps = []
    for name in ("one", "two"):
        folder = tmp_path / name
        folder.mkdir()
        app = fresh_app(database, folder) if not apps else _same_database(apps[0], folder)
        app.config.update(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=redis_uri)
        apps.append(app)
    yield apps
    for app in apps:
        with app.app_context():
            db.engine.dispose()


def _same_database(first, folder):
    from webapp import create_app

    config = {
        key: first.config[key]
        for key in ("TESTING", "SQLALCHEMY_DATABASE_URI", "SECRET_KEY", "SERVER_NAME", "FROZEN_NOW")
    }
    return create_app({**config, "SENDER_WAKE_FILE": str(folder / "outbox.wake")})


@pytest.fixture
def owner(instances, now):
    with instances[0].app_context():
        group = factories.group(db.session, now=now, join_token="share-me")
        factories.user(db.session, now=now, group=group, email="ada@example.test")
        db.session.commit()


def _database_hits(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(RateLimitHit))


def test_a_redis_storage_counts_the_same_way(redis_uri, redis_client, now):
    counter = ratelimit.counter_for({"RATELIMIT_STORAGE_URI": redis_uri}, engine=None)
    assert isinstance(counter, ratelimit.LimitsCounter)
    checks = [(ratelimit.Limit("s", 3, timedelta(minutes=1)), "k")]
    for _ in range(3):
        assert ratelimit.exceeded(counter, checks, now=now) is None
        ratelimit.record(counter, checks, now=now)
    assert ratelimit.exceeded(counter, checks, now=now) is not None
    assert redis_client.keys("*")  # the hits are in Redis


def test_an_account_is_limited_across_instances_sharing_only_redis(instances, owner, redis_client):
    one, two = (app.test_client() for app in instances)
    for n in range(auth_views.LOGIN_ACCOUNT.amount):
        client = (one, two)[n % 2]  # the attacker's guesses spread over both machines
        assert attempt(client, "ada@example.test", address=f"198.51.100.{n}").status_code == 400
    for client in (one, two):
        refused = attempt(client, "ada@example.test", factories.PASSWORD, address="192.0.2.77")
        assert refused.status_code == 303 and refused.headers["X-Refused"] == "429"
    assert _database_hits(instances[0]) == 0  # counted in Redis, not in the table
    assert len(redis_client.keys("*")) >= 3  # the account, each address, the whole site
    # Another account is not affected.
    assert attempt(two, "bob@example.test", address="192.0.2.77").status_code == 400


def test_a_successful_login_counts_nothing_in_redis(instances, owner, redis_client):
    client = instances[0].test_client()
    assert attempt(client, "ada@example.test", factories.PASSWORD).status_code == 302
    assert redis_client.keys("*") == []


def test_redis_away_fails_no_login_and_the_database_counts_meanwhile(instances, owner):
    closed = f"redis://127.0.0.1:{_free_port()}/0"  # nothing listens there
    for app in instances:
        app.config["RATELIMIT_STORAGE_URI"] = closed
    one, two = (app.test_client() for app in instances)
    assert attempt(one, "ada@example.test", factories.PASSWORD).status_code == 302
    for n in range(auth_views.LOGIN_ACCOUNT.amount):
        client = (one, two)[n % 2]
        assert attempt(client, "ada@example.test", address=f"198.51.100.{n}").status_code == 400
    assert _database_hits(instances[0]) == 3 * auth_views.LOGIN_ACCOUNT.amount
    refused = attempt(two, "ada@example.test", factories.PASSWORD, address="192.0.2.77")
    assert refused.headers["X-Refused"] == "429"


def test_only_join_requests_that_are_made_count_in_redis(instances, owner, redis_client):
    """Refused requests (here: the address is a member already) are not counted, as in the
    database; made ones are, across instances."""
    from .test_join_requests import _ask

    one, two = (app.test_client() for app in instances)
    for _ in range(5):
        assert _ask(one, "ada@example.test").status_code == 400
    assert redis_client.keys("*") == []
    for n in range(3):
        assert _ask((one, two)[n % 2], "new@example.test").status_code == 303
    assert _ask(two, "new@example.test").status_code == 429


def test_redis_away_is_not_asked_again_for_a_while(instances, owner, monkeypatch):
    """Each try would cost a login its timeout: after a failure the database counts alone
    for REDIS_RETRY_AFTER seconds, then Redis is tried again."""
    from limits.strategies import MovingWindowRateLimiter

    closed = f"redis://127.0.0.1:{_free_port()}/0"
    instances[0].config["RATELIMIT_STORAGE_URI"] = closed
    client = instances[0].test_client()
    assert attempt(client, "ada@example.test").status_code == 400  # Redis fails: noted
    asked = []

    def refuse(*args, **kwargs):
        asked.append(1)
        raise redis.exceptions.ConnectionError("still away")

    monkeypatch.setattr(MovingWindowRateLimiter, "get_window_stats", refuse)
    monkeypatch.setattr(MovingWindowRateLimiter, "hit", refuse)
    assert attempt(client, "ada@example.test").status_code == 400
    assert asked == []  # not asked within the window
    assert _database_hits(instances[0]) == 2 * 3
    monkeypatch.setattr(ratelimit, "REDIS_RETRY_AFTER", 0)
    ratelimit._away_until.clear()
    assert attempt(client, "ada@example.test").status_code == 400
    assert asked  # asked again once the window passed
