"""The request's side of the attempt limits (services/ratelimit.py): whether they are on,
the counter the configuration names, and the client's address as a key. One mechanism for
every limited form (login, e-mailed links, join requests), in storage all processes share."""

from __future__ import annotations

from flask import current_app, request

from ..extensions import db
from ..services import ratelimit


def limits_on() -> bool:
    return bool(current_app.config.get("RATELIMIT_ENABLED", True))


def counter(*, in_request: bool = False):
    """Where attempts are counted. By default each hit is committed at once, apart from the
    request (a failed login rolls back, its count must stay). `in_request`: the hit is
    written in the request's transaction, for limits on what a request creates (on
    SQLite, a second connection could not write while the request holds the lock)."""
    return ratelimit.counter_for(
        current_app.config, db.engine, within=db.session if in_request else None
    )


def client_address() -> str:
    """The client's address as a key: IPv4, or the IPv6 /64 (behind a proxy, ProxyFix set
    `remote_addr` from the trusted X-Forwarded-For)."""
    return ratelimit.address_key(request.remote_addr)
