"""Court-circuit: the order cycle and offline distribution day of food-buying groups."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

from flask import Flask

from .extensions import babel, compress, csrf, db, htmx, login_manager, migrate


def _instance_secret(app: Flask, filename: str) -> str:
    """Read a secret from the instance folder, creating it on first run."""
    path = Path(app.instance_path) / filename
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _proxies(text: str) -> int:
    text = text.strip()
    if not (text.isascii() and text.isdigit() and int(text) <= 10):
        raise ValueError(f"TRUSTED_PROXIES must be a number of proxies (0-10), not {text!r}")
    return int(text)


def _configure(app: Flask, test_config: dict | None) -> None:
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    default_db = "sqlite:///" + str(Path(app.instance_path) / "court-circuit.sqlite3")
    app.config.from_mapping(
        SQLALCHEMY_DATABASE_URI=os.environ.get("DATABASE_URL", default_db),
        SECRET_KEY=os.environ.get("SECRET_KEY"),
        BABEL_DEFAULT_LOCALE="fr",
        BABEL_DEFAULT_TIMEZONE="Europe/Paris",
        LANGUAGES=["fr", "en"],
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        # Behind https (the normal case in production): cookies only travel encrypted.
        SESSION_COOKIE_SECURE=os.environ.get("HTTPS") == "1",
        REMEMBER_COOKIE_SECURE=os.environ.get("HTTPS") == "1",
        WTF_CSRF_TIME_LIMIT=None,
        PERMANENT_SESSION_LIFETIME=timedelta(days=31),
        MAX_CONTENT_LENGTH=8 * 1024 * 1024,
        SMTP_HOST=os.environ.get("SMTP_HOST"),
        SMTP_PORT=int(os.environ.get("SMTP_PORT", "25")),
        MAIL_FROM=os.environ.get("MAIL_FROM", "court-circuit@localhost"),
        FROZEN_NOW=os.environ.get("COURT_CIRCUIT_FROZEN_NOW"),
        VAPID_PRIVATE_KEY=os.environ.get("VAPID_PRIVATE_KEY"),
        VAPID_SUBJECT=os.environ.get("VAPID_SUBJECT", "mailto:court-circuit@localhost"),
        PUSH_ALLOW_LOOPBACK=os.environ.get("PUSH_ALLOW_LOOPBACK") == "1",
        PUBLIC_URL=os.environ.get("PUBLIC_URL", ""),
        # Behind a reverse proxy: how many proxies in front of the app set X-Forwarded-For,
        # -Proto, -Host and -Port (werkzeug's ProxyFix). 0 (default): the headers are
        # ignored, as anyone can send them when nothing in front sets them.
        TRUSTED_PROXIES=_proxies(os.environ.get("TRUSTED_PROXIES", "0")),
        # Attempt limits (login, e-mailed links, join requests): counted in the database
        # unless this names a Redis server (redis://host:6379/0), services/ratelimit.py.
        RATELIMIT_STORAGE_URI=os.environ.get("RATELIMIT_STORAGE_URI", ""),
        RATELIMIT_ENABLED=os.environ.get("RATELIMIT_ENABLED", "1") != "0",
        # Pages travel gzipped: phones on a weak network. Level 3: a shop of 1,000 products
        # (620 KB of HTML) is 40.5 KB in 1.3 ms; level 5 saves 5.7 KB more for 1 ms of CPU
        # on every page (measured: bench/run.py's page). nginx's own default is level 1.
        COMPRESS_ALGORITHM=["gzip"],
        COMPRESS_LEVEL=3,
        COMPRESS_MIN_SIZE=1024,
        COMPRESS_MIMETYPES=[
            "text/html",
            "text/css",
            "application/javascript",
            "text/javascript",
            "application/json",
            "image/svg+xml",
            "text/csv",
        ],
    )
    if test_config:
        app.config.update(test_config)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _instance_secret(app, "secret_key")
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgresql://"):
        app.config["SQLALCHEMY_DATABASE_URI"] = uri.replace(
            "postgresql://", "postgresql+psycopg://"
        )
    if uri.startswith("sqlite"):
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"connect_args": {"timeout": 30}})


def create_app(test_config: dict | None = None) -> Flask:
    """Build the application: configuration, extensions, blueprints, CLI."""
    app = Flask(
        __name__,
        instance_path=os.environ.get("COURT_CIRCUIT_INSTANCE", None),
        template_folder="../templates",
    )
    _configure(app, test_config)

    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent.parent / "migrations"))
    csrf.init_app(app)
    htmx.init_app(app)
    compress.init_app(app)
    login_manager.init_app(app)

    from . import models  # noqa: F401  (registers the tables on the metadata)
    from .services import column_limits
    from .web import converters, register_web

    column_limits.install()
    converters.register(app)  # before any blueprint adds a rule with an id

    with app.app_context():
        from .db_setup import install_sqlite_pragmas

        install_sqlite_pragmas(db.engine)

    from .web.i18n import select_locale, select_timezone

    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    register_web(app)

    from .cli import register_cli

    register_cli(app)
    return app
