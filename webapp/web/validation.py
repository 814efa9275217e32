"""Validation of a distribution (step 6) and the money that follows: balances, history."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from .. import clock
from ..domain.money import AmountError, parse_amount_cents
from ..extensions import db
from ..models import PAYMENT_METHODS, Basket, Distribution, LedgerEntry, Membership, User
from ..services import ServiceError
from ..services import validation as svc
from .access import coordinator_required, get_in_group_or_404, member_required
from .distributions import _cents, _csv

bp = Blueprint("validation", __name__)


def _back(distribution: Distribution):
    return redirect(
        url_for(
            "validation.page", distribution_id=distribution.id, filter=request.args.get("filter")
        ),
        code=303,
    )


def _amount(field: str = "amount") -> int:
    try:
        return parse_amount_cents(request.form.get(field, ""))
    except AmountError as error:
        raise ServiceError(
            _("Enter an amount like 12,50 (two decimals at most)."), field=field
        ) from error


@bp.route("/distributions/<int:distribution_id>/validation")
@coordinator_required
def page(distribution_id: int):
    distribution = get_in_group_or_404(Distribution, distribution_id)
    checks = svc.review(db.session, distribution)
    shown = [c for c in checks if c.to_check] if request.args.get("filter") == "check" else checks
    totals = svc.cash_up(checks)
    if request.args.get("format") == "csv":
        rows = [
            [
                _("Basket"),
                _("Member"),
                _("Due"),
                _("Paid"),
                _("Difference"),
                _("Collected"),
                _("Signed"),
            ]
        ]
        rows += [
            [
                c.order.basket.number,
                c.order.user.sort_name,
                _cents(c.due_cents),
                _cents(c.paid_cents),
                _cents(c.gap_cents),
                c.progress,
                _("yes") if c.signed else _("no"),
            ]
            for c in checks
        ]
        rows += [[], [_("Cash-up")]] + [[m, _cents(v)] for m, v in totals.items()]
        for label, counted, method in (
            (_("Cash counted"), distribution.counted_cash_cents, "cash"),
            (_("Cheques counted"), distribution.counted_cheque_cents, "cheque"),
        ):
            if counted is not None:
                rows.append(
                    [
                        label,
                        _cents(counted),
                        _("Difference"),
                        _cents(counted - totals.get(method, 0)),
                    ]
                )
        return _csv(rows, f"validation-{distribution.id}.csv")
    products = {line.product.id: line.product for c in checks for line in c.order.lines}
    return render_template(
        "validation/page.html",
        distribution=distribution,
        checks=shown,
        all_checks=checks,
        totals=totals,
        now=clock.now(),
        products=sorted(products.values(), key=lambda p: p.name),
        methods=g.group.payment_methods,
    )


def _basket(distribution: Distribution, basket_id: int) -> Basket:
    basket = db.session.get(Basket, basket_id)
    if basket is None or basket.distribution_id != distribution.id:
        abort(404)
    return basket


def _run(distribution: Distribution, action, success: str):
    """Do a correction; on refusal show the page again with the reason and a 4xx."""
    try:
        action()
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
        return page(distribution.id), error.status
    flash(success, "success")
    return _back(distribution)


@bp.route("/distributions/<int:distribution_id>/validation/validate", methods=["POST"])
@coordinator_required
def validate(distribution_id: int):
    distribution = get_in_group_or_404(Distribution, distribution_id)
    basket_id = request.form.get("basket_id", type=int)
    return _run(
        distribution,
        lambda: svc.validate(
            db.session, distribution, actor=current_user, now=clock.now(), basket_id=basket_id
        ),
        _("Basket validated.") if basket_id else _("Distribution validated: balances are updated."),
    )


@bp.route("/distributions/<int:distribution_id>/validation/undo", methods=["POST"])
@coordinator_required
def undo(distribution_id: int):
    distribution = get_in_group_or_404(Distribution, distribution_id)
    return _run(
        distribution,
        lambda: svc.undo(db.session, distribution, actor=current_user, now=clock.now()),
        _("Validation undone: reversing entries were added."),
    )


@bp.route(
    "/distributions/<int:distribution_id>/validation/baskets/<int:basket_id>/<action>",
    methods=["POST"],
)
@coordinator_required
def basket_action(distribution_id: int, basket_id: int, action: str):
    distribution = get_in_group_or_404(Distribution, distribution_id)
    basket = _basket(distribution, basket_id)
    now = clock.now()

    def do():
        if action == "payment":
            method = request.form.get("method")
            if method not in g.group.payment_methods:
                raise ServiceError(_("Unknown payment method."), field="method")
            svc.record_on_sheet(
                db.session,
                distribution,
                basket,
                kind="payment",
                payload={"method": method, "amount_cents": _amount()},
                actor=current_user,
                now=now,
            )
        elif action == "refund":
            if distribution.validated_at is not None or basket.validated_at is not None:
                raise ServiceError(_("Validated: undo the validation to correct it."), status=409)
            svc.record_money(
                db.session,
                group_id=distribution.group_id,
                member=basket.user,
                kind="refund",
                amount_cents=_amount(),
                method=request.form.get("method") or None,
                note=request.form.get("note", ""),
                actor=current_user,
                now=now,
                distribution_id=distribution.id,
                basket_id=basket.id,
            )
        elif action == "not-collected":
            svc.record_on_sheet(
                db.session,
                distribution,
                basket,
                kind="pickup",
                payload={"state": "not_taken"},
                actor=current_user,
                now=now,
            )
        else:
            abort(404)

    return _run(distribution, do, _("Correction recorded."))


@bp.route(
    "/distributions/<int:distribution_id>/validation/products/<int:product_id>/<action>",
    methods=["POST"],
)
@coordinator_required
def product_action(distribution_id: int, product_id: int, action: str):
    distribution = get_in_group_or_404(Distribution, distribution_id)
    if product_id not in {p.id for c in distribution.catalogues for p in c.products}:
        abort(404)
    now = clock.now()

    def do():
        if action == "not-delivered":
            svc.zero_product(db.session, distribution, product_id, actor=current_user, now=now)
        elif action == "price":
            svc.change_price(db.session, distribution, product_id, _amount("price"))
        else:
            abort(404)

    return _run(distribution, do, _("Correction recorded."))


@bp.route("/distributions/<int:distribution_id>/validation/cash-up", methods=["POST"])
@coordinator_required
def cash_up(distribution_id: int):
    distribution = get_in_group_or_404(Distribution, distribution_id)

    def do():
        for field, attribute in (
            ("cash", "counted_cash_cents"),
            ("cheque", "counted_cheque_cents"),
        ):
            if request.form.get(field, "").strip():
                setattr(distribution, attribute, _amount(field))
        db.session.flush()

    return _run(distribution, do, _("Cash-up saved."))


# ---- members' money ------------------------------------------------------------------


@bp.route("/account/history")
@member_required
def history():
    entries = db.session.scalars(
        select(LedgerEntry)
        .where(
            LedgerEntry.group_id == g.group.id,
            LedgerEntry.user_id == current_user.id,
            LedgerEntry.pending.is_(False),
        )
        .order_by(LedgerEntry.created_at, LedgerEntry.id)
    ).all()
    running, rows = 0, []
    for entry in entries:
        running += entry.amount_cents
        rows.append((entry, running))
    return render_template("validation/history.html", rows=rows[::-1], balance=running)


@bp.route("/members/balances", methods=["GET", "POST"])
@coordinator_required
def balances():
    if request.method == "POST":
        member_id = request.form.get("user_id", type=int)
        membership = db.session.scalar(
            select(Membership).where(
                Membership.user_id == member_id, Membership.group_id == g.group.id
            )
        )
        if membership is None:
            abort(404)
        try:
            method = request.form.get("method") or None
            if method is not None and method not in PAYMENT_METHODS:
                raise ServiceError(_("Unknown payment method."), field="method")
            svc.record_money(
                db.session,
                group_id=g.group.id,
                member=db.session.get(User, member_id),
                kind=request.form.get("kind", ""),
                amount_cents=_amount(),
                method=method,
                note=request.form.get("note", ""),
                actor=current_user,
                now=clock.now(),
            )
        except ServiceError as error:
            db.session.rollback()
            flash(error.message, "error")
            return redirect(
                url_for("validation.balances")
            ), 303 if error.status < 400 else error.status
        flash(_("Recorded."), "success")
        return redirect(url_for("validation.balances"))
    rows = db.session.execute(
        select(User, func.coalesce(func.sum(LedgerEntry.amount_cents), 0))
        .join(Membership, Membership.user_id == User.id)
        .outerjoin(
            LedgerEntry,
            (LedgerEntry.user_id == User.id)
            & (LedgerEntry.group_id == g.group.id)
            & LedgerEntry.pending.is_(False),
        )
        .where(Membership.group_id == g.group.id)
        .group_by(User.id)
        .order_by(func.lower(User.last_name))
    ).all()
    if request.args.get("format") == "csv":
        return _csv(
            [[_("Member"), _("E-mail"), _("Balance")]]
            + [[u.sort_name, u.email, _cents(int(b))] for u, b in rows],
            "balances.csv",
        )
    return render_template("validation/balances.html", rows=rows, methods=g.group.payment_methods)
