"""Home, health check, language and group switches."""

from __future__ import annotations

from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
    session,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import select, text

from .. import clock
from ..extensions import db
from ..services.distributions import coming_distributions
from ..services.ledger import balance_cents
from .converters import as_id

bp = Blueprint("main", __name__)


@bp.route("/")
@login_required
def home():
    if g.group is None:
        from ..models import Producer

        if db.session.scalar(select(Producer.id).where(Producer.user_id == current_user.id)):
            return redirect(url_for("reports.producer_home"))
        return render_template("main/no_group.html")
    now = clock.now()
    rows = coming_distributions(db.session, g.group, user=current_user, now=now)
    balance = balance_cents(db.session, group_id=g.group.id, user_id=current_user.id)
    board = None
    if g.membership.is_coordinator:
        from ..services.dashboard import dashboard

        board = dashboard(db.session, g.group, now=now)
    return render_template("main/home.html", rows=rows, balance=balance, now=now, board=board)


@bp.route("/photos/<path:name>")
def photo(name: str):
    """Product photos, stored under the instance folder with content-hashed names."""
    folder = Path(current_app.instance_path) / "photos"
    return send_from_directory(folder, name, max_age=365 * 24 * 3600)


@bp.route("/healthz")
def healthz():
    db.session.execute(text("SELECT 1"))
    return jsonify(status="ok")


@bp.route("/lang", methods=["POST"])
def set_language():
    lang = request.form.get("lang", "")
    if lang not in ("fr", "en"):
        abort(400)
    session["lang"] = lang
    if current_user.is_authenticated:
        current_user.locale = lang
    return redirect(_back())


@bp.route("/group", methods=["POST"])
@login_required
def switch_group():
    wanted = request.form.get("group_id", type=as_id)
    if not any(m.group_id == wanted for m in current_user.memberships):
        abort(404)
    session["group_id"] = wanted
    return redirect(url_for("main.home"))


def _back() -> str:
    target = request.form.get("next") or ""
    return (
        target if target.startswith("/") and not target.startswith("//") else url_for("main.home")
    )
