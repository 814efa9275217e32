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
        click.echo("Demo group created." if created else "Demo group already there: nothing changed.")
