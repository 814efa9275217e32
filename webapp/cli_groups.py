"""Command-line group creation: `flask --app webapp create-group NAME EMAIL`, for sites
where open creation is off (OPEN_GROUP_CREATION=0)."""

from __future__ import annotations

import click
from flask import Flask, url_for

from .extensions import db


def register_groups_cli(app: Flask) -> None:
    @app.cli.command("create-group")
    @click.argument("name")
    @click.argument("email")
    @click.option("--place", default="", help="Place of the distributions (default: to set).")
    @click.option("--locale", default="fr", type=click.Choice(["fr", "en"]))
    def create_group_command(name: str, email: str, place: str, locale: str) -> None:
        """Create a group; EMAIL becomes its coordinator (invited by e-mail when new)."""
        from . import clock
        from .cli import require_public_url
        from .services import ServiceError
        from .services.accounts import (
            find_user_by_email,
            new_invitation,
            normalise_email,
            queue_invitation,
            valid_email,
        )
        from .services.groups import create_group

        email = normalise_email(email)
        if not valid_email(email):
            raise click.BadParameter("not a valid e-mail address", param_hint="EMAIL")
        now = clock.now()
        with app.test_request_context(base_url=app.config.get("PUBLIC_URL") or "http://localhost"):
            user = find_user_by_email(db.session, email)
            if user is None:
                require_public_url(app)  # the invitation's link must reach this instance
            try:
                group = create_group(
                    db.session,
                    name=name,
                    place_name=place or ("Lieu à préciser" if locale == "fr" else "Place to set"),
                    locale=locale,
                    coordinator=user,
                    now=now,
                )
            except ServiceError as error:
                db.session.rollback()
                raise click.ClickException(error.message) from error
            link = None
            if user is None:
                # The account is made when they follow the link and choose a password.
                invitation, token = new_invitation(
                    group, email=email, role="coordinator", actor=None, now=now
                )
                db.session.add(invitation)
                db.session.flush()
                link = url_for("auth.join", token=token, _external=True)
                queue_invitation(
                    db.session,
                    invitation,
                    token,
                    inviter="Court-circuit",
                    join_url=lambda _t: link,
                    now=now,
                    locale=locale,
                )
            db.session.commit()
        click.echo(f"Group created: {group.name} (id {group.id}).")
        if link:
            click.echo(f"{email} has no account yet: invitation sent by e-mail, link: {link}")
        else:
            click.echo(f"{email} is its coordinator.")
