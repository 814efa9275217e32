"""Accounts: authentication, profiles, invitations, roles."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import Select, and_, func, or_, select, true
from sqlalchemy.orm import Session, contains_eager

from ..models import Group, Invitation, Membership, User
from . import ServiceError
from .outbox import queue
from .passwords import hash_password, needs_rehash, verify_password

INVITATION_LIFETIME = timedelta(days=14)
MIN_PASSWORD_LENGTH = 10


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalise_email(email)))


def authenticate(session: Session, email: str, password: str) -> User | None:
    """Return the user whose e-mail and password match, else None (one answer for both)."""
    user = find_user_by_email(session, email)
    if not verify_password(user.password_hash if user else None, password):
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.flush()
    return user


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ServiceError(
            _("Choose a password of at least %(n)d characters.", n=MIN_PASSWORD_LENGTH),
            field="password",
        )


def create_user(
    session: Session,
    *,
    email: str,
    first_name: str,
    last_name: str,
    password: str | None,
    now: datetime,
    phone: str = "",
    locale: str | None = None,
) -> User:
    """Create an account; the e-mail must be free."""
    email = normalise_email(email)
    if find_user_by_email(session, email):
        raise ServiceError(_("An account already uses this e-mail address."), field="email")
    if password is not None:
        _check_password(password)
    user = User(
        email=email,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        phone=phone.strip(),
        locale=locale,
        password_hash=hash_password(password) if password else None,
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user


def update_profile(
    session: Session, user: User, *, first_name: str, last_name: str, phone: str, locale: str | None
) -> User:
    """Change a user's own names, phone and language."""
    user.first_name = first_name.strip()
    user.last_name = last_name.strip()
    user.phone = phone.strip()
    user.locale = locale or None
    session.flush()
    return user


def change_password(session: Session, user: User, *, current: str, new: str) -> None:
    """Change a password after checking the current one."""
    if not verify_password(user.password_hash, current):
        raise ServiceError(_("The current password is not right."), field="current_password")
    _check_password(new)
    user.password_hash = hash_password(new)
    session.flush()


def add_membership(
    session: Session, user: User, group: Group, *, role: str = "member", now: datetime
) -> Membership:
    """Make a user a member of a group, or return the membership that exists."""
    membership = session.scalar(
        select(Membership).where(Membership.user_id == user.id, Membership.group_id == group.id)
    )
    if membership:
        return membership
    membership = Membership(user=user, group=group, role=role, created_at=now)
    session.add(membership)
    session.flush()
    return membership


def set_role(session: Session, membership: Membership, role: str, *, actor: User) -> None:
    """Set a member's role; a coordinator cannot demote themself (the group would lock)."""
    if role not in ("member", "coordinator"):
        raise ServiceError(_("Unknown role."), field="role")
    if membership.user_id == actor.id and role != "coordinator":
        raise ServiceError(_("You cannot remove your own coordinator role."), field="role")
    membership.role = role
    session.flush()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def valid_email(email: str) -> bool:
    """A light check: one @, no spaces, a dot in the domain (the e-mail proves the rest)."""
    local, _at, domain = email.partition("@")
    return bool(
        local
        and "." in domain
        and not domain.startswith(".")
        and not domain.endswith(".")
        and "@" not in domain
        and not any(c.isspace() for c in email)
    )


def new_invitation(
    group: Group,
    *,
    email: str,
    role: str,
    actor: User | None,
    now: datetime,
    first_name: str = "",
    last_name: str = "",
    phone: str = "",
) -> tuple[Invitation, str]:
    """Build an invitation (not added to the session) and its secret token."""
    token = secrets.token_urlsafe(24)
    invitation = Invitation(
        group=group,
        email=email,
        first_name=first_name,
        last_name=last_name,
        phone=phone,
        role=role,
        token_hash=_token_hash(token),
        invited_by_id=actor.id if actor else None,
        created_at=now,
        expires_at=now + INVITATION_LIFETIME,
    )
    return invitation, token


def invite_member(
    session: Session, group: Group, *, email: str, role: str, actor: User, now: datetime
) -> tuple[Invitation, str]:
    """Create an invitation to the group; return it with its secret token (shown once)."""
    email = normalise_email(email)
    if not valid_email(email):
        raise ServiceError(_("Enter a valid e-mail address."), field="email")
    if role not in ("member", "coordinator"):
        raise ServiceError(_("Unknown role."), field="role")
    existing = find_user_by_email(session, email)
    if existing and any(m.group_id == group.id for m in existing.memberships):
        raise ServiceError(_("This person is already a member of the group."), field="email")
    invitation, token = new_invitation(group, email=email, role=role, actor=actor, now=now)
    session.add(invitation)
    session.flush()
    return invitation, token


def queue_invitation(
    session: Session,
    invitation: Invitation,
    token: str,
    *,
    inviter: str,
    join_url: Callable[[str], str],
    now: datetime,
    locale: str | None = None,
) -> None:
    """Queue the invitation e-mail (sent after the commit) in the recipient's language.

    `join_url(token)` is the absolute link; the message keeps its path for the sender.
    """
    group = invitation.group
    link = join_url(token)
    with force_locale(locale or group.locale or "fr"):
        title = _("Join %(group)s on Court-circuit", group=group.name)
        greeting = (
            _("Hello %(name)s,", name=invitation.first_name) + "\n\n"
            if invitation.first_name
            else ""
        )
        body = (
            greeting
            + _(
                "%(name)s invites you to join %(group)s. Open this link to create your account:",
                name=inviter,
                group=group.name,
            )
            + "\n\n"
            + link
            + "\n\n"
            + _("The link is valid for 14 days.")
        )
    queue(
        session,
        kind="invitation",
        ref=str(invitation.id),
        title=title,
        body=body,
        url=urlsplit(link).path,
        email=invitation.email,
        group_id=group.id,
        channel="email",
        now=now,
    )


def _open_invitations(group: Group, now: datetime):
    return (
        Invitation.group_id == group.id,
        Invitation.producer_id.is_(None),
        Invitation.accepted_at.is_(None),
        Invitation.expires_at > now,
    )


def open_invitations(
    session: Session, group: Group, *, now: datetime, limit: int | None = None
) -> list[Invitation]:
    """Invitations of a group to join it (not producers') not yet accepted nor expired,
    newest first (the first `limit` of them)."""
    return list(
        session.scalars(
            select(Invitation)
            .where(*_open_invitations(group, now))
            .order_by(Invitation.created_at.desc(), Invitation.id.desc())
            .limit(limit)
        )
    )


def open_invitation_count(session: Session, group: Group, *, now: datetime) -> int:
    return session.scalar(
        select(func.count()).select_from(Invitation).where(*_open_invitations(group, now))
    )


def find_invitation(session: Session, token: str, *, now: datetime) -> Invitation | None:
    """Return the open invitation for a token, or None when unknown, used or expired."""
    invitation = session.scalar(
        select(Invitation).where(Invitation.token_hash == _token_hash(token))
    )
    if not invitation or invitation.accepted_at or invitation.expires_at <= now:
        return None
    return invitation


def accept_invitation(
    session: Session,
    invitation: Invitation,
    *,
    first_name: str,
    last_name: str,
    phone: str,
    password: str,
    now: datetime,
    user: User | None = None,
) -> User:
    """Join the group: create the account, or add the group to the signed-in one.

    A producer's invitation links the group's producer record to the account instead."""
    if user is None and find_user_by_email(session, invitation.email):
        # Holding the link is not proof of owning that account: log in first.
        raise ServiceError(_("An account exists for this e-mail: log in first."), field="email")
    if user is None:
        user = create_user(
            session,
            email=invitation.email,
            first_name=first_name,
            last_name=last_name,
            phone=phone,
            password=password,
            now=now,
        )
    if invitation.producer_id is not None:
        # A producer's invitation: their producer page, not a place among the members.
        from .producers import link_account

        link_account(session, invitation, user)
    else:
        add_membership(session, user, invitation.group, role=invitation.role, now=now)
    invitation.accepted_at = now
    session.flush()
    return user


def group_members(session: Session, group: Group) -> list[Membership]:
    """Memberships of a group, sorted by name."""
    return list(session.scalars(group_members_query(group)))


def group_members_query(group: Group) -> Select:
    """The select of a group's memberships (user loaded), by name then id: a total order,
    so that pages of it neither repeat nor skip anyone."""
    return (
        select(Membership)
        .join(User)
        .where(Membership.group_id == group.id)
        .options(contains_eager(Membership.user))
        .order_by(func.lower(User.last_name), func.lower(User.first_name), Membership.id)
    )


MAX_SEARCH = 100  # characters of a search for members


# Letters a search ignores the accents of ("lea" finds Léa, "eleonore" Éléonore), in SQL
# with translate() on both databases (db_setup gives SQLite one).
ACCENTED = "àâäáãåçéèêëíìîïñóòôöõúùûüýÿœæ"
PLAIN = "aaaaaaceeeeiiiinooooouuuuyyoa"


_PLAIN = str.maketrans(ACCENTED, PLAIN)


def named(search: str):
    """SQL: the user (`User`) with each word of `search` in their first name, last name or
    e-mail, in any case and whatever the accents ("girard lea" finds Léa Girard); `%` and
    `_` are matched as typed, not as wildcards."""
    words = search.strip()[:MAX_SEARCH].lower().translate(_PLAIN).split()[:5]

    def holds(word: str):
        like = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        return or_(
            *(
                func.translate(func.lower(column), ACCENTED, PLAIN).like(like, escape="\\")
                for column in (User.first_name, User.last_name, User.email)
            )
        )

    return and_(*(holds(word) for word in words)) if words else true()
