"""The one place the web layer reads the time; services receive `now` as a parameter."""

from datetime import UTC, datetime

from flask import current_app


def now() -> datetime:
    """Return the current UTC time, or the frozen time set for demos and e2e tests."""
    frozen = current_app.config.get("FROZEN_NOW")
    if frozen:
        value = datetime.fromisoformat(frozen)
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.now(UTC)
