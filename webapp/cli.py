"""Command-line tasks: `flask --app webapp seed-demo`."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime

import click
from flask import Flask
from sqlalchemy import text

from .cli_groups import register_groups_cli
from .extensions import db

NO_PUBLIC_URL = (
    "PUBLIC_URL is not set: the links in e-mails and notifications would point to "
    "http://localhost. Set PUBLIC_URL to the site's address (https://amap.example.org), "
    "see README, 'Running on PostgreSQL: deployment'."
)


def public_url_missing(app: Flask) -> bool:
    """True when messages built outside a request would carry http://localhost links:
    no PUBLIC_URL, and not a developer's or the tests' app."""
    return not (app.config.get("PUBLIC_URL") or "").strip() and not (app.debug or app.testing)


def require_public_url(app: Flask) -> None:
    """Commands that queue or send messages refuse to run without PUBLIC_URL (exit 1)."""
    if public_url_missing(app):
        raise click.ClickException(NO_PUBLIC_URL)


def register_cli(app: Flask) -> None:
    @app.cli.command("seed-demo")
    def seed_demo_command() -> None:
        """Create the demo group (nothing happens when it exists)."""
        from .services.demo import seed_demo

        created = seed_demo(db.session, now=datetime.now(UTC))
        db.session.commit()
        click.echo(
            "Demo group created." if created else "Demo group already there: nothing changed."
        )

    register_notify(app)
    register_groups_cli(app)


# Distributions whose reminders are queued in one transaction: at 1,000 groups (4,000
# distributions) no transaction holds locks for long, and a failure loses one batch's work.
REMINDER_BATCH = 50


# On PostgreSQL, one sender at a time queues reminders (a session-level advisory lock):
# with a sender on each machine, the others skip the minute instead of building the same
# messages and colliding on the outbox's unique key.
REMINDER_LOCK = 0x0C0C_0001


@contextmanager
def _one_queuer(engine):
    if engine.dialect.name != "postgresql":
        yield True  # SQLite: one machine, its write lock already puts writers in a row
        return
    with engine.connect() as conn:
        got = conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": REMINDER_LOCK})
        conn.commit()
        try:
            yield bool(got)
        finally:
            if got:
                conn.scalar(text("SELECT pg_advisory_unlock(:key)"), {"key": REMINDER_LOCK})
                conn.commit()


def queue_reminders(app: Flask, *, now) -> int:
    """Queue the reminders due at `now` in the outbox, committed batch by batch of
    distributions; return how many (0 when another sender is queueing them now)."""
    from .services.notify import due_distribution_ids, queue_due

    queued = 0
    with (
        app.test_request_context(base_url=app.config.get("PUBLIC_URL") or "http://localhost"),
        _one_queuer(db.engine) as alone,
    ):
        if not alone:
            return 0
        ids = due_distribution_ids(db.session, now=now)
        db.session.rollback()  # the read ends here
        for start in range(0, len(ids), REMINDER_BATCH):
            try:
                queued += queue_due(
                    db.session, now=now, distribution_ids=ids[start : start + REMINDER_BATCH]
                )
                db.session.commit()
            except Exception:
                db.session.rollback()
                raise
            db.session.expunge_all()  # what a batch loaded is not kept for the next
    return queued


def notify_once(app: Flask, *, now=None, reminders: bool = True) -> dict:
    """Queue the reminders due now (unless `reminders` is false), then deliver the outbox;
    return the counts."""
    from . import clock
    from .sender import deliver_due

    if now is None:
        with app.app_context():
            now = clock.now()
    counts = {"queued": queue_reminders(app, now=now) if reminders else 0}
    counts.update(deliver_due(app, now=now))
    return counts


def summary(counts: dict) -> str:
    from .sender import summary as sent

    queued = counts.get("queued", 0)
    return f"{queued} reminder{'' if queued == 1 else 's'} queued; {sent(counts)}."


def register_notify(app: Flask) -> None:
    @app.cli.command("notify")
    @click.option(
        "--reminders/--no-reminders",
        default=True,
        help="Also look for the reminders due (a pass over every group: every 10 minutes is "
        "enough, their windows are hours wide).",
    )
    def notify_command(reminders: bool) -> None:
        """Deliver the outbox (run it every minute) and queue the reminders that are due."""
        require_public_url(app)
        click.echo(summary(notify_once(app, reminders=reminders)))

    @app.cli.command("notify-loop")
    @click.option("--every", default=60, help="Seconds between two deliveries of the outbox.")
    @click.option(
        "--remind-every",
        default=600,
        help="Seconds between two looks for the reminders due (a pass over every group).",
    )
    @click.option("--poll", default=0.5, help="Seconds between two looks for a wake-up.")
    def notify_loop_command(every: int, remind_every: int, poll: float) -> None:
        """Run the sender periodically, and at once when a request queued messages
        (what `make run` uses instead of cron)."""
        import logging
        import time

        from . import clock
        from .sender import deliver_due, woken_at

        require_public_url(app)  # `make run` gives it the local address
        # One summary line per run, not a warning per e-mail when SMTP_HOST is unset.
        logging.getLogger("webapp.services.mail").setLevel(logging.ERROR)

        seen, next_full, next_remind, started = woken_at(app), 0.0, 0.0, False
        while True:
            woken = woken_at(app)
            full = time.monotonic() >= next_full
            if full or woken != seen:
                seen = woken  # read before the run: a wake during it brings another run
                try:
                    if full:
                        next_full = time.monotonic() + every
                        remind = time.monotonic() >= next_remind
                        if remind:
                            next_remind = time.monotonic() + remind_every
                        counts = notify_once(app, reminders=remind)
                    else:
                        with app.app_context():
                            now = clock.now()
                        counts = {"queued": 0, **deliver_due(app, now=now)}
                    if any(counts.values()):
                        click.echo(summary(counts))
                except Exception as error:  # noqa: BLE001 - keep the loop alive, say why
                    click.echo(f"notify failed: {error}", err=True)
            if not started:
                started = True
                click.echo(
                    f"Sender loop started: every {every} s and when woken; reminders every "
                    f"{remind_every} s."
                )
                if not app.config.get("SMTP_HOST"):
                    click.echo("SMTP_HOST is not set: e-mails are not sent, only counted.")
            time.sleep(poll)
