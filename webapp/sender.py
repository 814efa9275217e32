"""The sender: delivers the outbox after the commit (push, e-mail), each message isolated."""

from __future__ import annotations

from flask import Flask


def wake(app: Flask) -> None:
    """Tell a running sender loop that messages are waiting (no network, never raises)."""
