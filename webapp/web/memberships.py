"""Memberships: the group's rules and the fees coordinators record; a member's own."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from .. import clock
from ..domain import memberships as rules
from ..domain.money import AmountError, parse_amount_cents
from ..extensions import db
from ..models import Membership, MembershipFee
from ..services import ServiceError
from ..services import memberships as svc
from ..services.accounts import group_members
from .access import coordinator_required, member_required
from .converters import as_id
from .once import once

bp = Blueprint("memberships", __name__, url_prefix="/memberships")


@bp.route("/mine")
@member_required
def mine():
    now = clock.now()
    start, _end = svc.current_period(db.session, g.group, now)
    return render_template(
        "memberships/mine.html",
        settings=svc.settings_of(db.session, g.group.id),
        fees=svc.fees_of(db.session, g.group.id, current_user.id),
        period=rules.period_label(start),
        paid=svc.paid(db.session, g.group.id, current_user.id, start),
        label=rules.period_label,
    )


def _page(values: dict | None = None, errors: dict | None = None, status: int = 200):
    now = clock.now()
    start, _end = svc.current_period(db.session, g.group, now)
    paid = db.session.scalars(
        select(MembershipFee)
        .where(MembershipFee.group_id == g.group.id, MembershipFee.period_start == start)
        .order_by(MembershipFee.paid_on.desc(), MembershipFee.id.desc())
    ).all()
    return (
        render_template(
            "memberships/index.html",
            settings=svc.settings_of(db.session, g.group.id),
            unpaid=svc.unpaid_members(db.session, g.group, now),
            paid=paid,
            members=group_members(db.session, g.group),
            period=rules.period_label(start),
            periods=[start, rules.next_period(start)[0]],
            label=rules.period_label,
            today=svc.local_day(g.group, now).isoformat(),
            methods=list(g.group.payment_methods) + ["balance"],
            values=values or {},
            errors=errors or {},
        ),
        status,
    )


@bp.route("/")
@coordinator_required
def index():
    return _page()


def _cents(field: str) -> int | None:
    text = request.form.get(field, "").strip()
    if not text:
        return None
    try:
        return parse_amount_cents(text, allow_negative=True)
    except AmountError as error:
        raise ServiceError(
            _("Enter an amount like 12,50 (two decimals at most)."), field=field
        ) from error


@bp.route("/settings", methods=["POST"])
@coordinator_required
def settings():
    try:
        svc.save_settings(
            db.session,
            g.group,
            start_month=request.form.get("start_month", type=as_id) or 0,
            fee_mode=request.form.get("fee_mode", ""),
            fee_cents=_cents("fee"),
            unpaid_rule=request.form.get("unpaid_rule", ""),
            actor=current_user,
            now=clock.now(),
        )
    except ServiceError as error:
        if error.field is None:
            raise
        return _page(request.form, {error.field: error.message}, 400)
    flash(_("The membership rules are saved."), "success")
    return redirect(url_for("memberships.index"), code=303)


def _date(field: str) -> date:
    try:
        return date.fromisoformat(request.form.get(field, ""))
    except ValueError as error:
        raise ServiceError(_("Enter a date like 2026-09-15."), field=field) from error


@bp.route("/fees", methods=["POST"])
@coordinator_required
@once
def record_fee():
    member_id = request.form.get("user_id", type=as_id)
    membership = db.session.scalar(
        select(Membership).where(Membership.user_id == member_id, Membership.group_id == g.group.id)
    )
    if membership is None:
        abort(404)
    try:
        amount = _cents("amount")
        period = request.form.get("period", "")
        fee = svc.record_fee(
            db.session,
            g.group,
            membership.user,
            amount_cents=amount if amount is not None else 0,
            method=request.form.get("method", ""),
            paid_on=_date("paid_on"),
            period_start=date.fromisoformat(period) if _is_date(period) else None,
            actor=current_user,
            now=clock.now(),
        )
    except ServiceError as error:
        if error.field is None:
            raise
        return _page(request.form, {error.field: error.message}, 400)
    flash(
        _(
            "Membership %(period)s of %(name)s recorded.",
            period=rules.period_label(fee.period_start),
            name=membership.user.name,
        ),
        "success",
    )
    return redirect(url_for("memberships.index"), code=303)


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True
