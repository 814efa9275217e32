"""Validation of a distribution (step 6) and the money that follows: balances, history."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from .. import clock
from ..domain.money import AmountError, parse_amount_cents
from ..extensions import db
from ..models import PAYMENT_METHODS, Basket, Distribution, Membership, User
from ..services import ServiceError, audit, ledger
from ..services import validation as svc
from ..services.accounts import MAX_SEARCH
from ..services.sheet import late_events
from .access import coordinator_required, get_in_group_or_404, member_required
from .converters import as_id
from .csvs import cents as _cents
from .csvs import coded as _coded
from .csvs import csv_response as _csv
from .filters import method_label, money
from .once import once
from .paging import paginate

bp = Blueprint("validation", __name__)


def _back(distribution: Distribution, basket_id: int | None = None):
    return redirect(
        url_for(
            "validation.page",
            distribution_id=distribution.id,
            filter=request.args.get("filter"),
            _anchor=f"basket-{basket_id}" if basket_id else None,
        ),
        code=303,
    )


def _outside_methods() -> list[str]:
    """How money is paid in or given back outside distributions: the group's methods, but
    not "from the balance" (that money moves the balance)."""
    return [m for m in g.group.payment_methods if m in PAYMENT_METHODS and m != "balance"]


def _amount(field: str = "amount") -> int:
    try:
        return parse_amount_cents(request.form.get(field, ""))
    except AmountError as error:
        messages = {
            "negative": _("An amount cannot be negative: choose what it is (a refund, say)."),
            "too_large": _("This amount is too large."),
        }
        message = messages.get(str(error), _("Enter an amount like 12,50 (two decimals at most)."))
        raise ServiceError(message, field=field) from error


def _validation_csv(distribution: Distribution, checks, totals):
    progress = {
        "collected": _("Collected"),
        "partial": _("Partly collected"),
        "to_collect": _("Not collected"),
    }
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
            _coded(c.progress, progress[c.progress]),
            _coded("yes", _("yes")) if c.signed else _coded("no", _("no")),
        ]
        for c in checks
    ]
    rows += [[], [_("Cash-up")]] + [
        [_coded(m, method_label(m)), _cents(v)] for m, v in totals.items()
    ]
    for label, counted, method in (
        (_("Cash counted"), distribution.counted_cash_cents, "cash"),
        (_("Cheques counted"), distribution.counted_cheque_cents, "cheque"),
    ):
        if counted is not None:
            rows.append(
                [label, _cents(counted), _("Difference"), _cents(counted - totals.get(method, 0))]
            )
    return _csv(rows, f"validation-{distribution.id}.csv")


@bp.route("/distributions/<int:distribution_id>/validation")
@coordinator_required
def page(distribution_id: int):
    """The day's baskets to check; `?gap=1` asks to confirm a cash-up that differs from the
    records (after an attempt to validate)."""
    distribution = get_in_group_or_404(Distribution, distribution_id)
    checks = svc.review(db.session, distribution)
    shown = [c for c in checks if c.to_check] if request.args.get("filter") == "check" else checks
    totals = svc.cash_up(checks)
    gaps = None
    if request.args.get("gap") and not distribution.validated_at:
        gaps = svc.cash_up_gaps(distribution, totals)
    if request.args.get("format") == "csv":
        return _validation_csv(distribution, checks, totals)
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
        late=late_events(db.session, distribution),
        trail=audit.trail(db.session, group_id=g.group.id, distribution_id=distribution.id),
        gaps=gaps,
    )


def _basket(distribution: Distribution, basket_id: int) -> Basket:
    basket = db.session.get(Basket, basket_id)
    if basket is None or basket.distribution_id != distribution.id:
        abort(404)
    return basket


@bp.route("/distributions/<int:distribution_id>/validation/validate", methods=["POST"])
@coordinator_required
@once
def validate(distribution_id: int):
    distribution = get_in_group_or_404(Distribution, distribution_id)
    basket_id = request.form.get("basket_id", type=as_id)
    try:
        svc.validate(
            db.session,
            distribution,
            actor=current_user,
            now=clock.now(),
            basket_id=basket_id,
            confirm_gap=request.form.get("confirm_gap") == "1",
        )
    except svc.CashUpGap:
        # Not a refusal but a question: the page with the gaps and a confirm button, at an
        # address that reloads safely (X-Refused says 409 to machines).
        target = url_for(
            "validation.page", distribution_id=distribution.id, gap=1, _anchor="confirm-gap"
        )
        response = redirect(target, code=303)
        response.headers["X-Refused"] = "409"
        g.refused = True  # nothing of this attempt is kept
        return response
    flash(
        _("Basket validated.") if basket_id else _("Distribution validated: balances are updated."),
        "success",
    )
    return _back(distribution, basket_id)


@bp.route("/distributions/<int:distribution_id>/validation/undo", methods=["POST"])
@coordinator_required
@once
def undo(distribution_id: int):
    distribution = get_in_group_or_404(Distribution, distribution_id)
    basket_id = request.form.get("basket_id", type=as_id)
    svc.undo(db.session, distribution, actor=current_user, now=clock.now(), basket_id=basket_id)
    flash(_("Validation undone: reversing entries were added."), "success")
    return _back(distribution, basket_id)


@bp.route(
    "/distributions/<int:distribution_id>/validation/baskets/<int:basket_id>/<action>",
    methods=["POST"],
)
@coordinator_required
@once
def basket_action(distribution_id: int, basket_id: int, action: str):
    distribution = get_in_group_or_404(Distribution, distribution_id)
    basket = _basket(distribution, basket_id)
    now, methods = clock.now(), g.group.payment_methods
    if action == "payment":
        svc.record_on_sheet(
            db.session,
            distribution,
            basket,
            kind="payment",
            payload={"method": request.form.get("method"), "amount_cents": _amount()},
            actor=current_user,
            now=now,
            methods=methods,
        )
    elif action == "refund":
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
            methods=methods,
            distribution=distribution,
            basket=basket,
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
            methods=methods,
        )
    else:
        abort(404)
    flash(_("Correction recorded."), "success")
    return _back(distribution, basket_id)


@bp.route(
    "/distributions/<int:distribution_id>/validation/products/<int:product_id>/<action>",
    methods=["POST"],
)
@coordinator_required
@once
def product_action(distribution_id: int, product_id: int, action: str):
    distribution = get_in_group_or_404(Distribution, distribution_id)
    if product_id not in {p.id for c in distribution.catalogues for p in c.products}:
        abort(404)
    now = clock.now()
    if action == "not-delivered":
        svc.zero_product(db.session, distribution, product_id, actor=current_user, now=now)
    elif action == "price":
        svc.change_price(
            db.session, distribution, product_id, _amount("price"), actor=current_user, now=now
        )
    else:
        abort(404)
    flash(_("Correction recorded."), "success")
    return _back(distribution)


@bp.route("/distributions/<int:distribution_id>/validation/cash-up", methods=["POST"])
@coordinator_required
@once
def cash_up(distribution_id: int):
    distribution = get_in_group_or_404(Distribution, distribution_id)
    counted = {
        method: _amount(method)
        for method in ("cash", "cheque")
        if request.form.get(method, "").strip()
    }
    svc.save_cash_up(db.session, distribution, counted, actor=current_user, now=clock.now())
    gaps = svc.cash_up_gaps(distribution, svc.cash_up(svc.review(db.session, distribution)))
    if gaps:  # said now, while the till is still at hand, not only at validation
        differences = ", ".join(f"{method_label(m)} {money(gap)}" for m, gap in gaps.items())
        flash(
            _(
                "Cash-up saved. It differs from what was recorded (counted minus recorded): "
                "%(differences)s.",
                differences=differences,
            ),
            "warning",
        )
    else:
        flash(_("Cash-up saved."), "success")
    return _back(distribution)


# ---- members' money ------------------------------------------------------------------


def _history(user_id: int):
    """A page of a member's confirmed entries in the group, newest first, each with the
    balance after it, and the member's balance: four queries whatever the history's size."""
    entries, balance = ledger.history_totals(db.session, group_id=g.group.id, user_id=user_id)
    query = ledger.history_query(group_id=g.group.id, user_id=user_id)
    page = paginate(db.session, query, request.args.get("page"), total=entries)
    return page, ledger.with_running_balance(db.session, page.items), balance


@bp.route("/account/history")
@member_required
def history():
    page, rows, balance = _history(current_user.id)
    return render_template(
        "validation/history.html", page=page, rows=rows, balance=balance, member=None
    )


@bp.route("/members/<int:user_id>/history")
@coordinator_required
def member_history(user_id: int):
    """A coordinator reads a member's account and what coordinators did to it."""
    membership = db.session.scalar(
        select(Membership).where(Membership.user_id == user_id, Membership.group_id == g.group.id)
    )
    if membership is None:
        abort(404)
    page, rows, balance = _history(user_id)
    return render_template(
        "validation/history.html",
        page=page,
        rows=rows,
        balance=balance,
        member=membership.user,
        trail=audit.trail(db.session, group_id=g.group.id, member_id=user_id),
        methods=_outside_methods(),
    )


@bp.route("/members/balances", methods=["POST"])
@coordinator_required
@once
def record_money():
    member_id = request.form.get("user_id", type=as_id)
    membership = db.session.scalar(
        select(Membership).where(Membership.user_id == member_id, Membership.group_id == g.group.id)
    )
    if membership is None:
        abort(404)
    svc.record_money(
        db.session,
        group_id=g.group.id,
        member=db.session.get(User, member_id),
        kind=request.form.get("kind", ""),
        amount_cents=_amount(),
        method=request.form.get("method") or None,
        note=request.form.get("note", ""),
        actor=current_user,
        now=clock.now(),
        methods=_outside_methods(),
    )
    flash(_("Recorded."), "success")
    return redirect(url_for("validation.member_history", user_id=member_id), code=303)


@bp.route("/members/balances")
@coordinator_required
def balances():
    """Every member's balance: a page of them on screen (or those whose name or e-mail holds
    `q`), all of them in the CSV. A payment is recorded on the member's account page."""
    search = request.args.get("q", "").strip()[:MAX_SEARCH]
    query = ledger.balances_query(group_id=g.group.id, search=search)
    if request.args.get("format") == "csv":
        return _csv(
            [[_("Member"), _("E-mail"), _("Balance")]]
            + [[u.sort_name, u.email, _cents(int(b))] for u, b in db.session.execute(query)],
            "balances.csv",
        )
    summary = ledger.balances_summary(db.session, group_id=g.group.id)
    total = None if search else summary.members  # matches are counted
    page = paginate(db.session, query, request.args.get("page"), total=total, rows=True)
    return render_template("validation/balances.html", page=page, summary=summary, q=search)
