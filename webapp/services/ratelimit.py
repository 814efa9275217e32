"""Attempts counted in a sliding window, in storage every app process shares.

By default the database (table `rate_limit_hits`: no new server to run); Redis when
`RATELIMIT_STORAGE_URI` is a `redis://` (or `rediss://`, `redis+sentinel://`,
`redis+cluster://`) address, through the `limits` package.

A hit is written in a short transaction of its own, committed at once: the request that
counts a failed login answers an error and rolls its own transaction back, which must not
undo the count. Reading the counts opens no write transaction either (on SQLite a POST's
transaction starts with BEGIN IMMEDIATE, the database's one write lock).
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from time import monotonic

from limits.errors import StorageError
from redis.exceptions import RedisError
from sqlalchemy import delete, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from ..db_setup import read_only_transaction
from ..models import RateLimitHit

log = logging.getLogger(__name__)

# Rows older than this are pruned (longer than the longest window).
KEEP = timedelta(days=1)


@dataclass(frozen=True)
class Limit:
    scope: str
    amount: int
    window: timedelta


@contextmanager
def own_session(engine: Engine, *, read_only: bool) -> Iterator[Session]:
    """A session apart from the request's, on its own connection: committed when the block
    ends (unless read-only), so the request's rollback cannot undo it."""
    token = read_only_transaction.set(read_only)
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        if read_only:
            session.rollback()
        else:
            session.commit()
    finally:
        session.close()
        read_only_transaction.reset(token)


def account_key(email: str) -> str:
    """An account's key: a digest, so the table holds no address in clear."""
    return hashlib.sha256((email or "").strip().lower().encode()).hexdigest()


def address_key(address: str | None) -> str:
    """A client's key: its IPv4 address, or its IPv6 /64 (one household or server)."""
    try:
        parsed = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return (address or "unknown")[:64]
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{parsed}/64", strict=False))
    return str(parsed)


class DatabaseCounter:
    """Hits as rows of `rate_limit_hits`: each in a short transaction of its own, or, with
    `within`, in that session's transaction (the hit then stands or falls with the request:
    for limits on what a request creates, counted only when it is created)."""

    def __init__(self, engine: Engine, within: Session | None = None):
        self.engine = engine
        self.within = within

    @contextmanager
    def _session(self, *, read_only: bool) -> Iterator[Session]:
        if self.within is not None:
            yield self.within
            return
        with own_session(self.engine, read_only=read_only) as session:
            yield session

    def counts(self, checks: Iterable[tuple[Limit, str]], *, now: datetime) -> list[int]:
        with self._session(read_only=True) as session:
            return [
                session.scalar(
                    select(func.count())
                    .select_from(RateLimitHit)
                    .where(
                        RateLimitHit.scope == limit.scope,
                        RateLimitHit.key == key,
                        RateLimitHit.at > now - limit.window,
                    )
                )
                or 0
                for limit, key in checks
            ]

    def add(self, checks: Iterable[tuple[Limit, str]], *, now: datetime) -> None:
        with self._session(read_only=False) as session:
            session.execute(delete(RateLimitHit).where(RateLimitHit.at < now - KEEP))
            session.add_all(
                RateLimitHit(scope=limit.scope, key=key[:200], at=now) for limit, key in checks
            )


class LimitsCounter:
    """Hits in a `limits` storage (Redis in production), moving windows on Redis's clock.

    When the storage cannot be reached (Redis down, restarting, a network cut), the hits go
    to the database instead, with a warning in the log: a login never fails because the
    limits' store is away, and the limits still hold, across processes, meanwhile."""

    def __init__(self, storage, fallback: DatabaseCounter | None = None):
        from limits.strategies import MovingWindowRateLimiter

        self.storage = storage
        self.limiter = MovingWindowRateLimiter(storage)
        self.fallback = fallback

    def _away(self) -> bool:
        """Whether the store failed a moment ago: then it is not asked again (each try
        would cost the request its timeout) until REDIS_RETRY_AFTER has passed."""
        return self.fallback is not None and _away_until.get(id(self.storage), 0) > monotonic()

    @staticmethod
    def _item(limit: Limit):
        from limits import RateLimitItemPerSecond

        return RateLimitItemPerSecond(limit.amount, int(limit.window.total_seconds()))

    def _unreachable(self, error: Exception) -> DatabaseCounter:
        if self.fallback is None:
            raise error
        _away_until[id(self.storage)] = monotonic() + REDIS_RETRY_AFTER
        log.warning(
            "Login limits' store unreachable (%s): counting in the database for %d s",
            error,
            REDIS_RETRY_AFTER,
        )
        return self.fallback

    def counts(self, checks: Iterable[tuple[Limit, str]], *, now: datetime) -> list[int]:
        checks = list(checks)
        if self._away():
            return self.fallback.counts(checks, now=now)
        try:
            result = []
            for limit, key in checks:
                stats = self.limiter.get_window_stats(self._item(limit), limit.scope, key)
                result.append(limit.amount - stats.remaining)
            return result
        except _STORE_ERRORS as error:
            return self._unreachable(error).counts(checks, now=now)

    def add(self, checks: Iterable[tuple[Limit, str]], *, now: datetime) -> None:
        checks = list(checks)
        if self._away():
            self.fallback.add(checks, now=now)
            return
        try:
            for limit, key in checks:
                self.limiter.hit(self._item(limit), limit.scope, key)
        except _STORE_ERRORS as error:
            self._unreachable(error).add(checks, now=now)


# What a store that cannot be reached raises (redis and limits are dependencies).
_STORE_ERRORS = (ConnectionError, TimeoutError, StorageError, RedisError)
# After a failure the store is left alone this long (seconds), per process and storage.
REDIS_RETRY_AFTER = 30
_away_until: dict[int, float] = {}
REDIS_SCHEMES = ("redis://", "rediss://", "redis+sentinel://", "redis+cluster://")
# One storage (and its connection pool) per URI and process, not one per request.
_storages: dict[str, object] = {}
_storages_lock = threading.Lock()


def _storage(uri: str):
    with _storages_lock:
        if uri not in _storages:
            from limits.storage import storage_from_string

            # Short timeouts: a Redis that hangs must not hold a login for long.
            _storages[uri] = storage_from_string(uri, socket_connect_timeout=1, socket_timeout=1)
        return _storages[uri]


def counter_for(
    config: dict, engine: Engine, within: Session | None = None
) -> DatabaseCounter | LimitsCounter:
    """Redis when RATELIMIT_STORAGE_URI names it; the database otherwise (a per-process
    store such as memory:// would not hold across processes, so it is never used).
    `within`: count in that session's transaction (DatabaseCounter)."""
    uri = config.get("RATELIMIT_STORAGE_URI") or ""
    if uri.startswith(REDIS_SCHEMES):
        return LimitsCounter(_storage(uri), fallback=DatabaseCounter(engine, within))
    return DatabaseCounter(engine, within)


def exceeded(counter, checks: list[tuple[Limit, str]], *, now: datetime) -> Limit | None:
    """The first limit already reached, else None."""
    for (limit, _key), count in zip(checks, counter.counts(checks, now=now), strict=True):
        if count >= limit.amount:
            return limit
    return None


def record(counter, checks: list[tuple[Limit, str]], *, now: datetime) -> None:
    """Count one attempt against every limit given (committed at once)."""
    counter.add(checks, now=now)
