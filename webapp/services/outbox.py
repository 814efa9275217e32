"""The message outbox: services queue messages in the transaction that caused them;
the sender delivers them after the commit (see `webapp.sender`).

Nothing here talks to the network: `queue` only writes a row.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app, has_app_context, has_request_context, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import OutboxMessage, User


def absolute(url: str) -> str:
    """A link that works from an e-mail: on PUBLIC_URL when set, else on the address the
    request came to (a sender running later has no request to ask)."""
    if not url or "://" in url or not url.startswith("/"):
        return url
    public = (current_app.config.get("PUBLIC_URL") or "") if has_app_context() else ""
    if public:
        return public.rstrip("/") + url
    if has_request_context():
        return request.host_url.rstrip("/") + url
    return url


def dedupe_key(kind: str, ref: str, *, user: User | None, email: str | None) -> str:
    who = f"u{user.id}" if user is not None else f"e:{(email or '').lower()}"
    return f"{kind}:{ref}:{who}"[:200]


def queue(
    session: Session,
    *,
    kind: str,
    ref: str,
    title: str,
    body: str,
    url: str = "",
    user: User | None = None,
    email: str | None = None,
    group_id: int | None = None,
    channel: str = "auto",
    now: datetime,
) -> OutboxMessage | None:
    """Queue one message for one person and event; None when it was queued already.

    `title` and `body` are final text in the recipient's language (render them under
    `force_locale(user.locale)`); `url` is a path, made absolute when it is sent.
    """
    if user is None and not email:
        raise ValueError("a message needs a user or an e-mail address")
    key = dedupe_key(kind, ref, user=user, email=email)
    if session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)):
        return None
    message = OutboxMessage(
        dedupe_key=key,
        group_id=group_id,
        user_id=user.id if user is not None else None,
        email=email,
        kind=kind,
        ref=ref[:120],
        channel=channel,
        title=title[:200],
        body=body,
        url=absolute(url)[:500],
        state="queued",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    try:
        # A concurrent transaction (another sender queueing the same reminder) may insert
        # the same key first: the unique key refuses ours, the rest of the transaction lives.
        with session.begin_nested():
            session.add(message)
    except IntegrityError:
        return None
    # Read by the request boundary after its commit: it wakes the sender at once.
    session.info["outbox_queued"] = True
    return message
