"""One-time tokens sent by e-mail (password reset, sign-in link): only a digest is stored,
each is used once and expires."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from ..models import LoginSession, User, UserToken
from . import ServiceError

LIFETIMES = {"reset": timedelta(hours=1), "signin": timedelta(minutes=20)}


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    session: Session, user: User, purpose: str, *, now: datetime
) -> tuple[UserToken, str]:
    """Create a token for a user; return the row and the secret (only in the e-mail)."""
    secret = secrets.token_urlsafe(32)
    row = UserToken(
        user_id=user.id,
        purpose=purpose,
        token_hash=_digest(secret),
        created_at=now,
        expires_at=now + LIFETIMES[purpose],
    )
    session.add(row)
    session.flush()
    return row, secret


def find_token(session: Session, secret: str, purpose: str, *, now: datetime) -> UserToken | None:
    """The token for a secret when it is unused and not expired, else None."""
    if not secret or len(secret) > 100:
        return None
    row = session.scalar(
        select(UserToken).where(
            UserToken.token_hash == _digest(secret), UserToken.purpose == purpose
        )
    )
    if row is None or row.used_at is not None or row.expires_at <= now:
        return None
    return row


def use_token(session: Session, secret: str, purpose: str, *, now: datetime) -> User:
    """Spend a token (once: a second use, even at the same instant, is refused); return its
    user. Every other unused token of the same purpose for that user is spent too."""
    row = find_token(session, secret, purpose, now=now)
    invalid = ServiceError(
        _("This link is unknown, already used or expired. Ask for a new one."), status=410
    )
    if row is None:
        raise invalid
    spent = session.execute(
        update(UserToken)
        .where(UserToken.id == row.id, UserToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if spent.rowcount != 1:
        raise invalid
    session.execute(
        update(UserToken)
        .where(
            UserToken.user_id == row.user_id,
            UserToken.purpose == purpose,
            UserToken.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return session.get(User, row.user_id)


def end_sessions(session: Session, user: User) -> None:
    """End every session and remember-me cookie of a user: the version they carry in their
    id (`User.get_id`) no longer matches. The caller logs the current one in again when it
    must stay (its device's sign-in is kept)."""
    user.session_version = (user.session_version or 0) + 1
    others = delete(LoginSession).where(LoginSession.user_id == user.id)
    if user.device_key:
        others = others.where(LoginSession.key_hash != _digest(user.device_key))
    session.execute(others)
    session.flush()


DEVICE_KEY = re.compile(r"[A-Za-z0-9_-]{20,64}")


def read_session_id(text: str | None) -> tuple[int, int, str | None] | None:
    """(user id, session version, device key or None) of what a session or remember-me
    cookie carries (`User.get_id`: "id:version:key", or "id:version" from before device
    keys); None when it is not one."""
    ident, version, key, *rest = (text or "").split(":") + ["", ""]
    if not (ident.isdigit() and version.isdigit()) or len(ident) > 18 or len(version) > 18:
        return None  # includes ids issued before versions: signed in again once
    if any(rest) or (key and not DEVICE_KEY.fullmatch(key)):
        return None
    return int(ident), int(version), key or None


SIGN_IN_KEPT = timedelta(days=400)  # longer than a remember-me cookie lives (365 days)


def start_session(session: Session, user: User, *, now: datetime) -> str:
    """A new sign-in on one device: its key, carried by its cookies (`User.get_id`), whose
    digest is stored. Sign-ins older than any cookie could be are forgotten meanwhile."""
    session.execute(
        delete(LoginSession).where(
            LoginSession.user_id == user.id, LoginSession.created_at < now - SIGN_IN_KEPT
        )
    )
    key = secrets.token_urlsafe(24)
    session.add(LoginSession(user_id=user.id, key_hash=_digest(key), created_at=now))
    session.flush()
    user.device_key = key
    return key


def end_session(session: Session, user: User) -> None:
    """Log this device out: its sign-in goes (a copy of its cookies with it); the account's
    other devices stay signed in. A sign-in from before devices were told apart (no key)
    can only be ended with all the others."""
    if not user.device_key:
        end_sessions(session, user)
        return
    session.execute(
        delete(LoginSession).where(
            LoginSession.user_id == user.id, LoginSession.key_hash == _digest(user.device_key)
        )
    )
    user.device_key = None


def end_device_keys(session: Session, keys: list[str]) -> None:
    """End the sign-ins of these device keys (a browser signing in again replaces its own)."""
    if keys:
        session.execute(
            delete(LoginSession).where(LoginSession.key_hash.in_([_digest(k) for k in keys]))
        )


# SQL: this device's sign-in still exists and is younger than any cookie may be, for the
# user loader's one query (correlated to its `User`; a remember-me cookie carries no date of
# its own). Its values: `sign_in_params`.
SIGN_IN_OPEN = (
    select(LoginSession.id)
    .where(
        LoginSession.user_id == User.id,
        LoginSession.key_hash == bindparam("key_hash"),
        LoginSession.created_at >= bindparam("since"),
    )
    .exists()
)


def sign_in_params(key: str, *, now: datetime) -> dict:
    return {"key_hash": _digest(key), "since": now - SIGN_IN_KEPT}
