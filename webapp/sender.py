"""The sender: delivers the outbox after the commit (push, e-mail), each message isolated.

One message at a time:

1. claim it: in a short transaction, `queued` (due) or `sending` whose claim is older than
   the lease (a sender that died) becomes `sending`, attempts + 1, claimed_at/claimed_by
   set; committed before anything goes out. The update is conditional on the state and
   attempt count just read, and on PostgreSQL the row is read `FOR UPDATE SKIP LOCKED`,
   so two senders never take the same row (SQLite serialises writers).
2. deliver it with no transaction open (short timeouts, no redirects): web push to every
   subscription of the person, else e-mail (logged only when SMTP_HOST is unset).
3. record the outcome in another short transaction, again conditional on the claim:
   `sent`, or back to `queued` with a backoff, or `failed` after the last attempt.

A person sees a message once even when a sender dies between 2 and 3 (the row is claimed
again after the lease and sent a second time): e-mails carry a Message-ID derived from
the row, push messages a Topic header and a notification tag derived from it, so the
second copy replaces the first. See README, "Notifications".
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.orm import Session

from .db_setup import read_only_transaction
from .extensions import db
from .models import NotificationPreference, OutboxMessage, PushSubscription, User
from .services import attachments, mail, push

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
# Wait before attempt 2, 3, ...; after the last one the message is given up (`failed`).
BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=12),
)
MAX_ATTEMPTS = len(BACKOFF) + 1
PUSH_BODY_LIMIT = 2000  # characters: a push payload must stay under ~4 KB once encrypted


def _setting(config, name: str, default: float) -> float:
    value = config.get(name) or os.environ.get(name)
    return float(value) if value else default


def wake_file(app: Flask) -> Path:
    return Path(app.config.get("SENDER_WAKE_FILE") or Path(app.instance_path) / "outbox.wake")


def wake(app: Flask) -> None:
    """Tell a running sender loop that messages are waiting (no network, never raises)."""
    try:
        wake_file(app).touch()
    except Exception:  # noqa: BLE001 - a request must never fail for this; the loop's tick sends
        log.debug("could not wake the sender", exc_info=True)


def woken_at(app: Flask) -> float:
    """When `wake` was last called (the wake file's mtime), 0 when never."""
    try:
        return wake_file(app).stat().st_mtime_ns
    except OSError:
        return 0


def message_id(config, key: str) -> str:
    """The e-mail Message-ID of an outbox message: the same each time it is sent."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"<outbox.{digest}@{mail.mail_domain(config)}>"


@dataclass
class Job:
    """What one delivery needs, read in the claim transaction."""

    id: int
    attempts: int
    key: str
    kind: str
    channel: str
    title: str
    body: str
    url: str
    to: str | None
    muted: bool
    subscriptions: list[dict] = field(default_factory=list)
    ref: str = ""
    attachments: list = field(default_factory=list)  # attachments.Attachment, for e-mails


@dataclass
class Outcome:
    via: str | None = None  # push | email | log when delivered
    muted: bool = False
    error: str | None = None
    permanent: bool = False
    gone: list[int] = field(default_factory=list)  # push subscriptions to forget


@dataclass
class Context:
    config: dict
    vapid: object
    http: object
    push_timeout: float
    smtp_timeout: float


def _due(now: datetime, lease: timedelta):
    return or_(
        and_(OutboxMessage.state == "queued", OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.state == "sending", OutboxMessage.claimed_at <= now - lease),
    )


def claim(
    session: Session, *, now: datetime, lease: timedelta = LEASE, worker: str = ""
) -> Job | None:
    """Take the next due message for this sender and commit the claim; None when none is due.

    A message whose sender died after its last allowed attempt is given up here instead.
    """
    pg = session.get_bind().dialect.name == "postgresql"
    session.expunge_all()  # read every row afresh: another sender may have changed it
    for _ in range(20):  # rows another sender changed meanwhile are skipped
        query = (
            select(OutboxMessage)
            .where(_due(now, lease))
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(1)
            .execution_options(populate_existing=True)
        )
        if pg:
            query = query.with_for_update(skip_locked=True)
        row = session.scalars(query).first()
        if row is None:
            session.commit()
            return None
        same = and_(
            OutboxMessage.id == row.id,
            OutboxMessage.state == row.state,
            OutboxMessage.attempts == row.attempts,
        )
        if row.state == "sending" and row.attempts >= MAX_ATTEMPTS:
            error = "the sender stopped during the last attempt"
            session.execute(
                update(OutboxMessage)
                .where(same)
                .values(state="failed", last_error=error, claimed_at=None, claimed_by=None)
                .execution_options(synchronize_session=False)
            )
            session.commit()
            continue
        taken = session.execute(
            update(OutboxMessage)
            .where(same)
            .values(
                state="sending",
                attempts=row.attempts + 1,
                claimed_at=now,
                claimed_by=worker[:80],
            )
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:
            session.rollback()
            continue
        job = _job(session, row, attempts=row.attempts + 1)
        session.commit()  # the claim is visible to every other sender before anything leaves
        return job
    session.commit()
    return None


def _job(session: Session, row: OutboxMessage, *, attempts: int) -> Job:
    user = session.get(User, row.user_id) if row.user_id is not None else None
    muted = False
    subscriptions: list[dict] = []
    if user is not None:
        pref = session.get(NotificationPreference, user.id)
        muted = bool(pref and row.kind in (pref.muted or []))
        if row.channel != "email":
            subscriptions = [
                {"id": s.id, "endpoint": s.endpoint, "p256dh": s.p256dh, "auth": s.auth}
                for s in session.scalars(
                    select(PushSubscription)
                    .where(PushSubscription.user_id == user.id)
                    .order_by(PushSubscription.id)
                )
            ]
    return Job(
        id=row.id,
        attempts=attempts,
        key=row.dedupe_key,
        kind=row.kind,
        channel=row.channel,
        title=row.title,
        body=row.body,
        url=row.url,
        to=row.email or (user.email if user is not None else None),
        muted=muted,
        subscriptions=subscriptions,
        ref=row.ref,
    )


def deliver(job: Job, ctx: Context) -> Outcome:
    """Send one message (no database): push to every device, else e-mail."""
    if job.muted:
        return Outcome(muted=True)
    outcome = Outcome()
    if job.channel in ("auto", "push") and job.subscriptions:
        tag = push.topic(job.key)
        body = job.body if len(job.body) <= PUSH_BODY_LIMIT else job.body[:PUSH_BODY_LIMIT] + "…"
        payload = {"title": job.title, "body": body, "url": job.url or "/", "tag": tag}
        errors = []
        for sub in job.subscriptions:
            try:
                push.send(
                    sub,
                    payload,
                    vapid=ctx.vapid,
                    subject=ctx.config["VAPID_SUBJECT"],
                    allow_loopback=ctx.config.get("PUSH_ALLOW_LOOPBACK", False),
                    timeout=ctx.push_timeout,
                    topic=tag,
                    http=ctx.http,
                )
            except push.PushGone as error:
                outcome.gone.append(sub["id"])
                log.info("push subscription %s gone: %s", sub["id"], error)
            except push.PushFailed as error:
                errors.append(f"push to subscription {sub['id']}: {error}")
            else:
                outcome.via = "push"
        if outcome.via:
            outcome.error = "; ".join(errors) or None  # delivered: the others are noted only
            return outcome
        if errors:
            outcome.error = "; ".join(errors)
            return outcome
        # Every subscription was gone: the person has no device left, e-mail instead.
    if job.channel == "push":
        outcome.error, outcome.permanent = "no push subscription", True
        return outcome
    if not job.to:
        outcome.error, outcome.permanent = "no e-mail address", True
        return outcome
    public = ctx.config.get("PUBLIC_URL") or ""
    link = job.url if "://" in job.url else f"{public}{job.url}"
    # the link once: an invitation's body already holds it
    text = f"{job.body}\n\n{link}" if job.url and link not in job.body else job.body
    try:
        sent = mail.send_mail(
            ctx.config,
            to=job.to,
            subject=job.title,
            body=text,
            message_id=message_id(ctx.config, job.key),
            timeout=ctx.smtp_timeout,
            attachments=[(a.filename, a.mimetype, a.data) for a in job.attachments],
        )
    except mail.MailRefused as error:
        outcome.error, outcome.permanent = f"e-mail: {error}", True
    except Exception as error:  # noqa: BLE001 - any failure of one message is retried later
        outcome.error = f"e-mail: {type(error).__name__}: {error}"
    else:
        outcome.via = "email" if sent else "log"
    return outcome


def record(session: Session, job: Job, outcome: Outcome, *, now: datetime) -> str:
    """Write the outcome of one delivery; return what happened (via, muted, retry, failed,
    lost: another sender took the message over meanwhile)."""
    if outcome.gone:
        session.execute(delete(PushSubscription).where(PushSubscription.id.in_(outcome.gone)))
    if outcome.muted:
        values, result = {"state": "muted"}, "muted"
    elif outcome.via:
        values = {"state": "sent", "sent_at": now, "delivered_via": outcome.via}
        values["last_error"] = outcome.error
        result = outcome.via
    elif outcome.permanent or job.attempts >= MAX_ATTEMPTS:
        values, result = {"state": "failed", "last_error": outcome.error}, "failed"
    else:
        values = {
            "state": "queued",
            "last_error": outcome.error,
            "next_attempt_at": now + BACKOFF[job.attempts - 1],
        }
        result = "retry"
    mine = and_(
        OutboxMessage.id == job.id,
        OutboxMessage.state == "sending",
        OutboxMessage.attempts == job.attempts,
    )
    done = session.execute(
        update(OutboxMessage)
        .where(mine)
        .values(claimed_at=None, claimed_by=None, **values)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    if done.rowcount != 1:
        log.warning("outbox message %s was taken over by another sender", job.id)
        return "lost"
    if result in ("retry", "failed"):
        log.warning("outbox message %s (%s): %s [%s]", job.id, job.kind, outcome.error, result)
    return result


def deliver_due(
    app: Flask,
    *,
    now: datetime,
    limit: int = 1000,
    lease: timedelta = LEASE,
    worker: str | None = None,
    after_send: Callable[[Job, Outcome], None] | None = None,
) -> dict[str, int]:
    """Deliver up to `limit` due messages; return counts (push, email, log, muted, retry,
    failed). `now` moves on with the real time elapsed during the run, so claims and
    retries of a long run carry the time they happened.

    `after_send` runs between a delivery and its record (tests use it to kill the sender
    right there).
    """
    worker = worker or f"{socket.gethostname()}:{os.getpid()}:{time.monotonic_ns() % 10**6}"
    started = time.monotonic()

    def current() -> datetime:
        return now + timedelta(seconds=time.monotonic() - started)

    counts: dict[str, int] = {}
    token = read_only_transaction.set(False)  # every transaction here writes (SQLite: IMMEDIATE)
    try:
        with app.app_context():
            from .notifier import vapid

            config = app.config
            engine = db.engine
            ctx = Context(
                config=config,
                vapid=None,
                http=push.http_session(),
                push_timeout=_setting(config, "PUSH_TIMEOUT", 5.0),
                smtp_timeout=_setting(config, "SMTP_TIMEOUT", 10.0),
            )
            with Session(engine, expire_on_commit=False) as session, ctx.http:
                for _ in range(limit):
                    try:
                        job = claim(session, now=current(), lease=lease, worker=worker)
                    except Exception:
                        session.rollback()
                        raise
                    if job is None:
                        break
                    try:
                        if job.subscriptions and ctx.vapid is None:
                            ctx.vapid = vapid(app)
                        if job.channel != "push" and job.kind in attachments.BUILDERS:
                            try:  # files built from the database, then nothing held open
                                job.attachments = attachments.build(session, job.kind, job.ref)
                            finally:
                                session.rollback()
                        outcome = deliver(job, ctx)
                    except Exception as error:  # noqa: BLE001 - one message never stops the others
                        log.exception("outbox message %s could not be delivered", job.id)
                        outcome = Outcome(error=f"{type(error).__name__}: {error}")
                    if after_send is not None:
                        after_send(job, outcome)
                    try:
                        result = record(session, job, outcome, now=current())
                    except Exception:  # noqa: BLE001 - the lease will bring it back
                        session.rollback()
                        log.exception("outbox message %s: outcome not recorded", job.id)
                        result = "unrecorded"
                    counts[result] = counts.get(result, 0) + 1
    finally:
        read_only_transaction.reset(token)
    return counts


def summary(counts: dict[str, int]) -> str:
    """One line for the command line: what the sender did."""
    parts = [
        f"{counts.get(k, 0)} by {label}"
        for k, label in (("push", "push"), ("email", "e-mail"), ("log", "log (SMTP_HOST unset)"))
        if counts.get(k)
    ]
    sent = "sent " + ", ".join(parts) if parts else "nothing sent"
    extra = [
        f"{counts[k]} {label}"
        for k, label in (
            ("muted", "muted"),
            ("retry", "to retry"),
            ("failed", "given up"),
            ("lost", "taken over"),
            ("unrecorded", "not recorded"),
        )
        if counts.get(k)
    ]
    return "; ".join([sent, *extra])
