"""A member's own data: the privacy page, the export as a ZIP, the account's erasure
(by the member, or by a coordinator for a member who asked on paper)."""

from __future__ import annotations

import csv
import io
import json
import zipfile

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user
from sqlalchemy import select

from .. import clock
from ..extensions import db
from ..models import Membership, User
from ..services import ServiceError
from ..services import privacy as svc
from ..services.passwords import verify_password
from .access import coordinator_required
from .csvs import safe_cell
from .once import once

bp = Blueprint("privacy", __name__)


@bp.route("/privacy")
def page():
    return render_template("privacy/page.html")


def _csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    columns = list(rows[0]) if rows else []
    writer.writerow(columns)
    for row in rows:
        writer.writerow(safe_cell(_cell(row[c])) for c in columns)
    return "\ufeff" + out.getvalue()


def _cell(value):
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else value


def export_zip(tables: dict[str, list[dict]]) -> bytes:
    """One JSON file with everything, and one CSV (spreadsheet-safe) per table."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("court-circuit.json", json.dumps(tables, ensure_ascii=False, indent=1))
        for name, rows in tables.items():
            archive.writestr(f"{name}.csv", _csv(rows))
        archive.writestr(
            "README.txt",
            _(
                "Everything Court-circuit keeps about you. court-circuit.json holds it all; "
                "each CSV file is one part of it. Amounts are in cents, times in UTC."
            ),
        )
    return buffer.getvalue()


def _download(user: User) -> Response:
    data = export_zip(svc.collect(db.session, user))
    response = Response(data, mimetype="application/zip")
    name = f"court-circuit-{user.id}-{clock.now().date().isoformat()}.zip"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/account/export")
@login_required
def export():
    return _download(current_user)


@bp.route("/account/delete", methods=["GET", "POST"])
@login_required
def delete():
    error = None
    if request.method == "POST":
        if not verify_password(current_user.password_hash, request.form.get("password", "")):
            error = _("The password is not right.")
        else:
            svc.erase_account(
                db.session, current_user, asked_by="self", actor=current_user, now=clock.now()
            )
            logout_user()
            flash(_("Your account is deleted. Thank you for your time with the group."), "success")
            return redirect(url_for("privacy.page"), code=303)
    return render_template(
        "privacy/delete.html",
        reasons=svc.erase_refusals(db.session, current_user),
        member=None,
        error=error,
    ), (400 if error else 200)


def _member(user_id: int) -> User:
    membership = db.session.scalar(
        select(Membership).where(Membership.user_id == user_id, Membership.group_id == g.group.id)
    )
    if membership is None:
        abort(404)
    return membership.user


@bp.route("/members/<int:user_id>/privacy")
@coordinator_required
def member(user_id: int):
    user = _member(user_id)
    return render_template(
        "privacy/delete.html",
        reasons=svc.erase_refusals(db.session, user),
        member=user,
        error=None,
    )


@bp.route("/members/<int:user_id>/export")
@coordinator_required
def member_export(user_id: int):
    return _download(_member(user_id))


@bp.route("/members/<int:user_id>/erase", methods=["POST"])
@coordinator_required
@once
def member_erase(user_id: int):
    user = db.session.get(User, user_id)
    if user is not None and svc.is_erased(db.session, user):
        raise ServiceError(_("This account is already deleted."), status=409)
    user = _member(user_id)
    if request.form.get("confirm") != "1":
        raise ServiceError(_("Tick the box to confirm the member asked for it."), field="confirm")
    svc.erase_account(db.session, user, asked_by="paper", actor=current_user, now=clock.now())
    flash(_("The account is deleted; its money records stay, without a name."), "success")
    return redirect(url_for("members.index"), code=303)
