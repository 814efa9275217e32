"""Command-line tasks: `flask --app webapp seed-demo`."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask import Flask

from .extensions import db


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


def _notify_once(app: Flask) -> dict:
    from . import clock
    from .notifier import deliver
    from .services.notify import send_due

    with app.test_request_context(base_url=app.config.get("PUBLIC_URL") or "http://localhost"):
        counts = send_due(
            db.session, now=clock.now(), deliver=deliver, checkpoint=db.session.commit
        )
        db.session.commit()
    return counts


def register_notify(app: Flask) -> None:
    @app.cli.command("notify")
    def notify_command() -> None:
        """Send the reminders that are due (safe to run every minute from cron)."""
        click.echo(f"Sent: {_notify_once(app) or 'nothing due'}")

    @app.cli.command("notify-loop")
    @click.option("--every", default=60, help="Seconds between two runs.")
    def notify_loop_command(every: int) -> None:
        """Run the sender periodically (what `make run` uses instead of cron)."""
        import time

        while True:
            try:
                counts = _notify_once(app)
                if counts:
                    click.echo(f"Sent: {counts}")
            except Exception as error:  # noqa: BLE001 - keep the loop alive, say why
                click.echo(f"notify failed: {error}", err=True)
                db.session.rollback()
            time.sleep(every)
