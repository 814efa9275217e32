"""Attempts counted in a sliding window, in storage every app process shares.

By default the database (table `rate_limit_hits`: no new server to run); Redis when
`RATELIMIT_STORAGE_URI` is a `redis://` (or `rediss://`, `redis+sentinel://`,
`redis+cluster://`) address, through the `limits` package that flask-limiter uses.

A hit is written in a short transaction of its own, committed at once: the request that
counts a failed login answers an error and rolls its own transaction back, which must not
undo the count. Reading the counts opens no write transaction either (on SQLite a POST's
transaction starts with BEGIN IMMEDIATE, the database's one write lock).
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from ..db_setup import read_only_transaction
from ..models import RateLimitHit

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
    """Hits as rows of `rate_limit_hits`."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def counts(self, checks: Iterable[tuple[Limit, str]], *, now: datetime) -> list[int]:
        with own_session(self.engine, read_only=True) as session:
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
        with own_session(self.engine, read_only=False) as session:
            session.execute(delete(RateLimitHit).where(RateLimitHit.at < now - KEEP))
            session.add_all(
                RateLimitHit(scope=limit.scope, key=key[:200], at=now) for limit, key in checks
            )


class LimitsCounter:
    """Hits in a `limits` storage (Redis in production), moving windows on its own clock."""

    def __init__(self, storage):
        from limits.strategies import MovingWindowRateLimiter

        self.limiter = MovingWindowRateLimiter(storage)

    @staticmethod
    def _item(limit: Limit):
        from limits import RateLimitItemPerSecond

        return RateLimitItemPerSecond(limit.amount, int(limit.window.total_seconds()))

    def counts(self, checks: Iterable[tuple[Limit, str]], *, now: datetime) -> list[int]:
        result = []
        for limit, key in checks:
            stats = self.limiter.get_window_stats(self._item(limit), limit.scope, key)
            result.append(limit.amount - stats.remaining)
        return result

    def add(self, checks: Iterable[tuple[Limit, str]], *, now: datetime) -> None:
        for limit, key in checks:
            self.limiter.hit(self._item(limit), limit.scope, key)


def counter_for(config: dict, engine: Engine) -> DatabaseCounter | LimitsCounter:
    """Redis when RATELIMIT_STORAGE_URI names it; the database otherwise (memory:// is per
    process, so it is not used for limits that must hold across processes)."""
    uri = config.get("RATELIMIT_STORAGE_URI") or ""
    if uri.startswith(("redis://", "rediss://", "redis+sentinel://", "redis+cluster://")):
        from limits.storage import storage_from_string

        return LimitsCounter(storage_from_string(uri))
    return DatabaseCounter(engine)


def exceeded(counter, checks: list[tuple[Limit, str]], *, now: datetime) -> Limit | None:
    """The first limit already reached, else None."""
    for (limit, _key), count in zip(checks, counter.counts(checks, now=now), strict=True):
        if count >= limit.amount:
            return limit
    return None


def record(counter, checks: list[tuple[Limit, str]], *, now: datetime) -> None:
    """Count one attempt against every limit given (committed at once)."""
    counter.add(checks, now=now)
