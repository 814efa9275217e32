"""The member's shop for one distribution, the basket, and receipts."""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import clock
from ..domain.cycle import Status
from ..extensions import db
from ..models import Basket, Distribution
from ..services import ServiceError
from ..services.ledger import balance_cents
from ..services.orders import (
    OrderResult,
    find_basket,
    my_baskets,
    products_of,
    read_quantity,
    set_quantities,
    shop_products,
    summarise,
)
from .access import get_in_group_or_404, member_required
from .filters import quantity

bp = Blueprint("shop", __name__)


def _page(distribution: Distribution, *, errors: dict | None = None, typed: dict | None = None,
          status: int = 200):
    now = clock.now()
    catalogues = shop_products(db.session, distribution)
    summary = summarise(find_basket(db.session, distribution, current_user))
    ordered = {line.product_id: line for line in summary.lines}
    return render_template(
        "shop/shop.html", distribution=distribution, catalogues=catalogues, summary=summary,
        ordered=ordered, state=distribution.status(now), errors=errors or {}, typed=typed or {},
        is_open=distribution.status(now) == Status.OPEN and not distribution.cancelled_at,
    ), status


@bp.route("/distributions/<int:distribution_id>/shop")
@member_required
def shop(distribution_id: int):
    return _page(get_in_group_or_404(Distribution, distribution_id))


def _wanted_from_form(distribution: Distribution) -> tuple[dict, dict, dict]:
    """Read q-<product id> fields and the +/- button; return (wanted, errors, typed)."""
    raw = {k[2:]: v for k, v in request.form.items() if k.startswith("q-")}
    op = request.form.get("op", "")
    if not all(k.isdigit() for k in raw) or (op and not _op_ok(op)):
        raise ServiceError(_("This product is not offered in this distribution."), status=404)
    ids = [int(k) for k in raw] + ([int(op.split(":")[1])] if op else [])
    products = products_of(db.session, distribution, ids) if ids else {}
    wanted, errors, typed = {}, {}, {}
    for pid, text in ((int(k), v) for k, v in raw.items()):
        typed[pid] = text
        try:
            wanted[pid] = read_quantity(products[pid], text or "0")
        except ServiceError as error:
            errors[pid] = error.message
    if op and not errors:
        kind, pid = op.split(":")[0], int(op.split(":")[1])
        step = Decimal("0.5") if products[pid].weighed else Decimal(1)
        base = wanted.get(pid, Decimal(0))
        wanted[pid] = max(Decimal(0), base + step if kind == "inc" else base - step)
    return wanted, errors, typed


def _op_ok(op: str) -> bool:
    kind, _, pid = op.partition(":")
    return kind in ("inc", "dec") and pid.isdigit()


def _apply(distribution: Distribution):
    """Validate every field first, then write: bad input saves nothing."""
    try:
        wanted, errors, typed = _wanted_from_form(distribution)
    except ServiceError as error:
        return None, error, {}, {}
    if errors:
        return None, None, errors, typed
    try:
        result = set_quantities(db.session, distribution, wanted, actor=current_user, now=clock.now())
    except ServiceError as error:
        db.session.rollback()
        return None, error, {}, typed
    return result, None, {}, typed


def _tell_shortfalls(result: OrderResult) -> list[str]:
    return [
        _("Only %(n)s left of %(product)s: your order holds what was left.",
          n=quantity(c.granted), product=c.product.name)
        for c in result.shortfalls
    ]


@bp.route("/distributions/<int:distribution_id>/shop", methods=["POST"])
@member_required
def save(distribution_id: int):
    distribution = get_in_group_or_404(Distribution, distribution_id)
    result, error, errors, typed = _apply(distribution)
    if error:
        flash(error.message, "error")
        return _page(distribution, status=error.status)
    if errors:
        flash(_("Some quantities are not right: nothing was saved."), "error")
        return _page(distribution, errors=errors, typed=typed, status=400)
    for message in _tell_shortfalls(result):
        flash(message, "warning")
    if not result.shortfalls:
        flash(_("Your order is saved."), "success")
    anchor = request.form.get("op", ":").split(":")[1]
    return redirect(url_for("shop.shop", distribution_id=distribution.id,
                            _anchor=f"product-{anchor}" if anchor else None))


@bp.route("/distributions/<int:distribution_id>/shop/products/<int:product_id>", methods=["POST"])
@member_required
def line(distribution_id: int, product_id: int):
    """HTMX: change one product's quantity; answer its row and the basket bar."""
    distribution = get_in_group_or_404(Distribution, distribution_id)
    result, error, errors, typed = _apply(distribution)
    if error and error.status == 404:
        abort(404)
    products = products_of(db.session, distribution, [product_id])
    summary = summarise(find_basket(db.session, distribution, current_user))
    ordered = {ln.product_id: ln for ln in summary.lines}
    now = clock.now()
    if error:
        message = error.message
    elif errors:
        message = errors.get(product_id, "")
    else:
        message = " ".join(_tell_shortfalls(result))
    return render_template(
        "shop/_line_response.html", distribution=distribution, product=products[product_id],
        summary=summary, ordered=ordered, errors=errors, typed=typed if errors else {},
        message=message,
        is_open=distribution.status(now) == Status.OPEN,
    ), (error.status if error else 400 if errors else 200)


@bp.route("/orders")
@member_required
def orders():
    rows = my_baskets(db.session, g.group.id, current_user)
    balance = balance_cents(db.session, group_id=g.group.id, user_id=current_user.id)
    return render_template("shop/orders.html", rows=rows, balance=balance)


@bp.route("/baskets/<int:basket_id>")
@member_required
def receipt(basket_id: int):
    basket = db.session.get(Basket, basket_id)
    if basket is None or basket.user_id != current_user.id:
        abort(404)
    distribution = get_in_group_or_404(Distribution, basket.distribution_id)
    summary = summarise(find_basket(db.session, distribution, current_user))
    return render_template("shop/receipt.html", distribution=distribution, summary=summary)
