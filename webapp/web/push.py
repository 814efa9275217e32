"""Web push endpoints: the VAPID key, saving a subscription, a test message (queued)."""

from __future__ import annotations

import secrets

from flask import Blueprint, current_app, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import clock
from ..extensions import db
from ..notifier import public_key_of
from ..services.notify import has_push
from ..services.outbox import queue
from ..services.push import save_subscription

bp = Blueprint("push", __name__, url_prefix="/push")


@bp.route("/key")
def key():
    return jsonify(publicKey=public_key_of(current_app))


@bp.route("/subscriptions", methods=["POST"])
@login_required
def subscribe():
    # A refusal (not https, not public, another account's device) reaches the one handler.
    save_subscription(
        db.session,
        current_user,
        request.get_data(cache=False),
        allow_loopback=current_app.config["PUSH_ALLOW_LOOPBACK"],
        now=clock.now(),
    )
    return jsonify(status="saved"), 201


@bp.route("/test", methods=["POST"])
@login_required
def test():
    """Queue a test message to every device of the member; the sender delivers it."""
    devices = len(has_push(db.session, current_user))
    if devices:
        queue(
            db.session,
            kind="push_test",
            ref=secrets.token_hex(8),  # each click is a new message
            title=_("Court-circuit"),
            body=_("Notifications work on this device."),
            url="/",
            user=current_user,
            channel="push",
            now=clock.now(),
        )
    # `sent` (read by the page): how many devices the test goes to, 0 = none turned on.
    return jsonify(queued=devices, sent=devices)
