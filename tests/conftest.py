"""Fixtures: a real database for every test (a migrated SQLite file, or PostgreSQL when
TEST_DATABASE_URL is set), the Flask test client, and an `auth` helper."""

from __future__ import annotations

import os
import re
import shutil
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from webapp import create_app
from webapp.db_setup import read_only_transaction
from webapp.extensions import db

from . import factories

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def _migrate(url: str, instance: str) -> None:
    from flask_migrate import upgrade

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "SECRET_KEY": "t"})
    with app.app_context():
        upgrade()
        db.engine.dispose()


def _database_of_this_worker(url: str) -> str:
    """Parallel workers (pytest-xdist) each get a PostgreSQL database of their own."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    base, _, name = url.rpartition("/")
    own = f"{name}_{worker}"
    admin = create_engine(
        url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": own}):
            conn.execute(text(f'CREATE DATABASE "{own}"'))
    admin.dispose()
    return f"{base}/{own}"


@pytest.fixture(scope="session")
def database(tmp_path_factory):
    """Migrate one database for the session; each test gets it empty."""
    url = os.environ.get("TEST_DATABASE_URL")
    folder = tmp_path_factory.mktemp("db")
    if url:
        url = _database_of_this_worker(url)
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
        _migrate(url, str(folder))
        yield ("postgresql", url)
    else:
        template = folder / "template.sqlite3"
        _migrate(f"sqlite:///{template}", str(folder))
        yield ("sqlite", template)


def _truncate_all(url: str) -> None:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        tables = [t.name for t in db.metadata.sorted_tables]
        # TRUNCATE fires no row triggers, so the append-only ledger lets tests start clean.
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()


def fresh_app(database, folder):
    """An app on an empty copy of the migrated database (a SQLite file in `folder`, or the
    PostgreSQL database emptied), with the test configuration."""
    kind, source = database
    if kind == "sqlite":
        path = folder / "test.sqlite3"
        shutil.copy(source, path)
        uri = f"sqlite:///{path}"
    else:
        _truncate_all(source)
        uri = source
    return create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": uri,
            "SECRET_KEY": "test-secret",
            "SERVER_NAME": "localhost",
            "FROZEN_NOW": NOW.isoformat(),
            "RATELIMIT_ENABLED": False,
            "SENDER_WAKE_FILE": str(folder / "outbox.wake"),
        }
    )


@pytest.fixture
def app(database, tmp_path):
    app = fresh_app(database, tmp_path)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def session(app):
    """A session of its own for arranging and checking; requests use theirs.

    No app context stays pushed: a pushed one would be shared by the test client's
    requests (their `g`, their session), which real requests never share.
    """
    token = read_only_transaction.set(True)  # the test's reads must not hold SQLite's lock
    with app.app_context():
        engine = db.engine
    test_session = Session(bind=engine, expire_on_commit=False)
    yield test_session
    test_session.rollback()
    test_session.close()
    read_only_transaction.reset(token)


@pytest.fixture
def client(app):
    return app.test_client()


CSRF_RE = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def csrf_token(client, path: str = "/login") -> str:
    """The CSRF token a page hands to this client's session."""
    page = client.get(path)
    match = CSRF_RE.search(page.get_data(as_text=True))
    assert match, f"no csrf-token meta on {path}"
    return match.group(1)


class AuthActions:
    def __init__(self, client, session=None):
        self._client = client
        self._session = session

    def login(self, email: str, password: str = factories.PASSWORD, **extra):
        if self._session is not None:
            # Signing in writes the device's sign-in. On SQLite (WAL) a transaction whose
            # snapshot predates another connection's write can no longer write: the test's
            # own transaction ends here (its objects stay loaded) so that it can go on.
            self._session.commit()
        token = csrf_token(self._client)
        data = {"email": email, "password": password, "csrf_token": token, **extra}
        return self._client.post("/login", data=data)

    def logout(self):
        return self._client.post("/logout", data={"csrf_token": csrf_token(self._client, "/")})


@pytest.fixture
def auth(client, session):
    return AuthActions(client, session)


@pytest.fixture
def post(client):
    """POST a form with this client's CSRF token."""

    def _post(path: str, data: dict | None = None, **kwargs):
        token = csrf_token(client, kwargs.pop("token_from", "/"))
        # Forms that move money carry a key per rendered form: a fresh one per post here,
        # unless the test sends the same form twice on purpose.
        data = {"csrf_token": token, "form_key": uuid.uuid4().hex, **(data or {})}
        return client.post(path, data=data, **kwargs)

    return _post


def refusal(client, response) -> tuple[int, str]:
    """A refused form: the status the server gave (`X-Refused`) and the page it leads to."""
    assert response.status_code == 303, response.status_code
    status = int(response.headers["X-Refused"])
    return status, client.get(response.headers["Location"]).get_data(as_text=True)


@pytest.fixture
def now():
    return NOW
