"""Web push endpoints: the VAPID key, saving a subscription, a test message."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import clock
from ..extensions import db
from ..notifier import public_key_of, push_to
from ..services import ServiceError
from ..services.push import save_subscription

bp = Blueprint("push", __name__, url_prefix="/push")


@bp.route("/key")
def key():
    return jsonify(publicKey=public_key_of(current_app))


@bp.route("/subscriptions", methods=["POST"])
@login_required
def subscribe():
    try:
        save_subscription(
            db.session,
            current_user,
            request.get_data(cache=False),
            allow_loopback=current_app.config["PUSH_ALLOW_LOOPBACK"],
            now=clock.now(),
        )
    except ServiceError as error:
        return jsonify(error=error.message), error.status
    return jsonify(status="saved"), 201


@bp.route("/test", methods=["POST"])
@login_required
def test():
    sent = push_to(
        current_user,
        {"title": _("Court-circuit"), "body": _("Notifications work on this device."), "url": "/"},
    )
    # 200 either way: a gone subscription was removed, and that must be committed.
    return jsonify(sent=sent)
