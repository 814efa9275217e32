"""Glue between the app and web push: the VAPID key pair, read or made once per process.

Messages themselves go through the outbox (`webapp.services.outbox.queue`) and the sender
(`webapp.sender`), never from a request."""

from __future__ import annotations

import threading
from pathlib import Path

from flask import Flask

from .services import push

_lock = threading.Lock()


def vapid(app: Flask):
    with _lock:  # two threads of one process must not both generate a key pair
        if "court_circuit.vapid" not in app.extensions:
            app.extensions["court_circuit.vapid"] = push.load_vapid(
                Path(app.instance_path), app.config.get("VAPID_PRIVATE_KEY")
            )
    return app.extensions["court_circuit.vapid"]


def public_key_of(app: Flask) -> str:
    return push.public_key(vapid(app))
