"""Password hashing with argon2id, and checking a login without holding a write lock."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so both paths cost the same time.
_DUMMY_HASH = _hasher.hash("court-circuit-timing-equaliser")


def hash_password(password: str) -> str:
    """Hash a password with argon2id."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password against its hash; an account without a password never matches."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def check_login(engine, email: str, password: str) -> tuple[int | None, str | None]:
    """Check an e-mail and password; return the user's id (None when they do not match) and
    a new hash when the stored one uses old parameters.

    The account is read in a short read-only transaction of its own, which ends before
    the hash is computed: guessing passwords never holds the database's write lock (on
    SQLite a POST's transaction starts with BEGIN IMMEDIATE), so it cannot slow the shop
    or the tablets' sync. The caller writes (rehash, sign-in) only after this returns.
    """
    from sqlalchemy import select

    from ..models import User
    from .ratelimit import own_session

    with own_session(engine, read_only=True) as session:
        row = session.execute(
            select(User.id, User.password_hash).where(User.email == email.strip().lower())
        ).first()
    stored = row.password_hash if row else None
    if not verify_password(stored, password):
        return None, None
    return row.id, hash_password(password) if needs_rehash(stored) else None
