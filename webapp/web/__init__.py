"""Web layer: thin blueprints per area. A request commits once, at its boundary."""

from __future__ import annotations

import io
import re

from flask import Flask, abort, current_app, g, jsonify, request, session
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from .. import clock
from ..db_setup import read_only_transaction
from ..extensions import db, login_manager
from ..models import Membership, User
from ..services.tokens import SIGN_IN_OPEN, read_session_id, sign_in_params
from . import access, assets, errors, filters

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "worker-src 'self'",
        "manifest-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


# Pages where someone proves who they are anew (password, e-mailed link): no earlier
# session is loaded there, so no query opens the request's write transaction before the
# password is hashed (on SQLite a POST's first query takes the write lock).
_FRESH_SIGN_IN = frozenset(
    {"auth.login", "auth.signin_link", "auth.forgot_password", "auth.reset_password"}
)


# The person, their memberships and those groups in one query: every page needs them (the
# current group, the menu), and this runs on every request (built once: building it was a
# tenth of a bare request).
_USER = (
    select(User)
    .where(User.id == bindparam("user_id"), User.session_version == bindparam("version"))
    .options(joinedload(User.memberships).joinedload(Membership.group))
)
_USER_ON_DEVICE = _USER.where(SIGN_IN_OPEN)


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    """The user of a session or remember-me cookie ("id:version:device key"), when that
    version is still theirs (raising `session_version` ends every session issued before)
    and that device's sign-in still exists (logging out deletes it). An "id:version" from
    before devices were told apart is still honoured (`tokens.end_session`)."""
    if request.endpoint in _FRESH_SIGN_IN and request.method == "POST":
        return None
    read = read_session_id(user_id)
    if read is None:
        return None
    ident, version, key = read
    params = {"user_id": ident, "version": version}
    if key:
        params |= sign_in_params(key, now=clock.now())
    user = db.session.scalars(_USER_ON_DEVICE if key else _USER, params).unique().first()
    if user is not None:
        user.device_key = key
    return user


def _load_group() -> None:
    """Put the member's current group and membership on `g`."""
    g.membership = None
    g.group = None
    if not current_user.is_authenticated:
        return
    memberships = sorted(current_user.memberships, key=lambda m: m.group.name)
    g.memberships = memberships
    wanted = session.get("group_id")
    chosen = next((m for m in memberships if m.group_id == wanted), None)
    chosen = chosen or (memberships[0] if memberships else None)
    if chosen:
        g.membership = chosen
        g.group = chosen.group


# Any JSON body (API, push, is_json) is read at most this deep, before parsing; the sync
# API caps its own bodies further (web/sheet.py).
MAX_JSON_DEPTH = 32
_JSON_NUL = re.compile(rb"\\u0000", re.IGNORECASE)


def _reads_json() -> bool:
    return request.path.startswith(("/api/", "/push/")) or request.is_json


def _NUL() -> str:  # noqa: N802
    return _("What you sent contains a character that is not allowed (NUL).")


def _TOO_DEEP() -> str:  # noqa: N802
    return _("What you sent is nested too deeply.")


def _refuse_bad_input():
    """Before anything reads the request (CSRF included): no NUL character in the query,
    the form or a JSON body (PostgreSQL cannot store one), and no JSON nested deeper than
    MAX_JSON_DEPTH (Python's parser would run out of stack). Answers 400 with a message."""
    g.membership = g.group = None  # the error page reads them; _load_group sets them later
    g.memberships = []
    if any("\x00" in key or "\x00" in value for key, value in request.args.items(multi=True)):
        abort(400, _NUL())
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if _reads_json():
        from .sheet import json_too_deep

        data = request.get_data(cache=True)
        # Give the views the same bytes again, however they read them (stream or data).
        request.stream = io.BytesIO(data)  # type: ignore[misc]
        if b"\x00" in data or _JSON_NUL.search(data):
            if request.path.startswith("/api/"):  # the sync API answers with reason codes
                return jsonify(error="nul_character", message=_NUL()), 400
            abort(400, _NUL())
        if json_too_deep(data, MAX_JSON_DEPTH):
            if request.path.startswith("/api/"):
                return jsonify(error="json_too_deep", message=_TOO_DEEP()), 400
            abort(400, _TOO_DEEP())
        return
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for key, value in request.form.items(multi=True):
            if "\x00" in key or "\x00" in value:
                abort(400, _NUL())


def _before_request() -> None:
    g.read_only_token = read_only_transaction.set(request.method in ("GET", "HEAD", "OPTIONS"))
    _load_group()


def _teardown_request(_error) -> None:
    # Restore the caller's setting: the test client runs requests in the test's own thread.
    token = g.pop("read_only_token", None)
    if token is not None:
        read_only_transaction.reset(token)


def _end_transaction(response) -> None:
    """The request's one transaction: commit when the view returned, roll back when it
    raised (the error handlers mark that) or answered an error."""
    if response.status_code < 400 and not g.get("refused"):
        db.session.commit()
        if db.session.info.pop("outbox_queued", False):
            from ..sender import wake

            wake(current_app._get_current_object())
    else:
        db.session.rollback()
        db.session.info.pop("outbox_queued", None)


# Answers with their own caching: the service worker and its manifest (no-cache, read by
# the browser's update check), static files and photos (public, long-lived).
_OWN_CACHING = frozenset({"static", "pwa.service_worker", "pwa.service_worker_manifest"})
_DOWNLOADS = frozenset({"text/csv", "application/pdf", "application/zip"})


def _private_cache(response) -> None:
    """Signed-in pages, downloads and the tablet's pages carry names, phones and amounts:
    no shared cache keeps them, and the browser stores no copy on disk."""
    if request.endpoint in _OWN_CACHING or response.cache_control.public:
        return
    # Whether someone is signed in, read from the session without loading the user (a
    # remember-me cookie, once read, puts the user there too).
    personal = (
        session.get("_user_id") is not None
        or response.mimetype in _DOWNLOADS
        or (request.endpoint or "").startswith("sheet.")
    )
    if personal:
        response.headers["Cache-Control"] = "private, no-store"


def _after_request(response):
    _private_cache(response)
    _end_transaction(response)
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.headers.get("HX-Request") is not None or response.mimetype == "text/html":
        response.vary.add("HX-Request")
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def register_web(app: Flask) -> None:
    """Attach blueprints, hooks, filters and error pages."""
    from . import (
        account,
        auth,
        catalogues,
        contracts,
        distributions,
        groups,
        main,
        members,
        memberships,
        messages,
        privacy,
        push,
        pwa,
        reports,
        roster,
        sheet,
        shop,
        validation,
    )

    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    # First of all hooks, before CSRF reads the form: bad input is refused unread.
    app.before_request_funcs.setdefault(None, []).insert(0, _refuse_bad_input)
    app.before_request(_before_request)
    app.after_request(_after_request)
    app.teardown_request(_teardown_request)
    for blueprint in (
        main.bp,
        auth.bp,
        account.bp,
        members.bp,
        shop.bp,
        sheet.bp,
        pwa.bp,
        catalogues.bp,
        distributions.bp,
        reports.bp,
        validation.bp,
        push.bp,
        roster.bp,
        groups.bp,
        messages.bp,
        memberships.bp,
        contracts.bp,
        privacy.bp,
    ):
        app.register_blueprint(blueprint)
    filters.register(app)
    access.register_menu(app)
    assets.register(app)
    errors.register(app)
