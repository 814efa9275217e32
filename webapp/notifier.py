"""Glue between the sender and the outside world: push first, e-mail for the others."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app

from .extensions import db
from .services import notify, push
from .services.mail import send_mail


def vapid(app: Flask):
    if "court_circuit.vapid" not in app.extensions:
        app.extensions["court_circuit.vapid"] = push.load_vapid(
            Path(app.instance_path), app.config.get("VAPID_PRIVATE_KEY")
        )
    return app.extensions["court_circuit.vapid"]


def push_to(user, payload: dict) -> int:
    """Send a payload to every subscription of a user; return how many went out."""
    app = current_app._get_current_object()
    sent = 0
    for sub in notify.has_push(db.session, user):
        if push.send(
            db.session,
            sub,
            payload,
            vapid=vapid(app),
            subject=app.config["VAPID_SUBJECT"],
            allow_loopback=app.config["PUSH_ALLOW_LOOPBACK"],
        ):
            sent += 1
    return sent


def deliver(message: notify.Message) -> str:
    """Web push where the member has it, else e-mail (logged when SMTP is not configured)."""
    payload = {"title": message.title, "body": message.body, "url": message.url}
    if push_to(message.user, payload):
        return "push"
    if send_mail(
        current_app.config,
        to=message.user.email,
        subject=message.title,
        body=f"{message.body}\n\n{current_app.config.get('PUBLIC_URL', '')}{message.url}",
    ):
        return "email"
    return "log"


def public_key_of(app: Flask) -> str:
    return push.public_key(vapid(app))
