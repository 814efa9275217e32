"""The member's shop for one distribution, the basket, and receipts."""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.orm import joinedload

from .. import clock
from ..domain.cycle import Status
from ..extensions import db
from ..models import Basket, Distribution, Product
from ..services import ServiceError, memberships
from ..services.ledger import balance_cents
from ..services.offers import unavailable_ids
from ..services.orders import (
    OrderResult,
    find_basket,
    my_baskets,
    products_of,
    read_quantity,
    set_quantities,
    shop_product,
    shop_products,
    summarise,
)
from .access import get_in_group_or_404, member_required
from .converters import as_id
from .filters import quantity
from .shop_rows import ShopRows

bp = Blueprint("shop", __name__)


def _context(distribution: Distribution, errors=None, typed=None) -> dict:
    """What every rendering of shop rows needs, computed once per request."""
    summary = summarise(find_basket(db.session, distribution, current_user))
    state = distribution.status(clock.now())
    is_open = state == Status.OPEN and not distribution.cancelled_at
    rows = ShopRows(
        distribution_id=distribution.id,
        is_open=is_open,
        locale=str(get_locale()),
        ordered={line.product_id: line for line in summary.lines},
        errors=errors or {},
        typed=typed or {},
    )
    return dict(distribution=distribution, summary=summary, state=state, is_open=is_open, rows=rows)


# Where the catalogues go in the rendered page: they come as UTF-8 bytes (`ShopRows.catalogues`).
_CATALOGUES = Markup("<!-- the catalogues -->")


def _page(distribution: Distribution, context: dict, membership_notice=None) -> bytes:
    """The shop: each catalogue with its rows, in one form (one CSRF token for the page)."""
    catalogues = context["rows"].catalogues(shop_products(db.session, distribution))
    page = render_template(
        "shop/shop.html",
        catalogues=_CATALOGUES,
        membership_notice=membership_notice,
        **context,
    )
    head, found, tail = page.partition(_CATALOGUES)
    assert found, "templates/shop/shop.html prints `catalogues` once"
    return b"".join((head.encode(), catalogues, tail.encode()))


@bp.route("/distributions/<int:distribution_id>/shop")
@member_required
def shop(distribution_id: int):
    # its place is on the page: loaded with it
    distribution = get_in_group_or_404(
        Distribution, distribution_id, options=[joinedload(Distribution.place)]
    )
    membership_notice = memberships.unpaid_notice(
        db.session, g.group.id, current_user, now=clock.now()
    )
    return _page(distribution, _context(distribution), membership_notice)


def _typed(product: Product) -> str:
    """The product's quantity field: `q-<id>` from the shop's one form, `q` alone also read."""
    return request.form.get(f"q-{product.id}", request.form.get("q", ""))


def _wanted(product: Product, op: str) -> Decimal:
    """The quantity asked by the form: the typed value, moved one step by +/-."""
    if op not in ("", "inc", "dec"):
        raise ServiceError(_("Unknown action."))
    return _stepped(product, read_quantity(product, _typed(product) or "0"), op)


def _stepped(product: Product, asked: Decimal, op: str) -> Decimal:
    """`asked` moved one step by + (`inc`) or − (`dec`): half a kilo when weighed."""
    step = Decimal("0.5") if product.weighed else Decimal(1)
    if op == "inc":
        return asked + step
    if op == "dec":
        return max(Decimal(0), asked - step)
    return asked


def _shortfalls(result: OrderResult) -> list[str]:
    """What was granted when more was asked than was left: "9 asked, 3 left: ..."."""
    messages = []
    for c in result.shortfalls:
        if c.granted <= 0:
            messages.append(
                _("%(product)s is sold out: it is not in your basket.", product=c.product.name)
            )
        else:
            messages.append(
                _(
                    "%(product)s: %(asked)s asked, %(n)s left: your basket holds %(n)s.",
                    product=c.product.name,
                    asked=quantity(c.asked),
                    n=quantity(c.granted),
                )
            )
    return messages


def _save(distribution: Distribution, wanted) -> tuple[int, str]:
    """Set the quantities `wanted()` returns; (status, message) of the outcome.

    In a savepoint: a refusal undoes only this change, and what is drawn next comes from
    what is stored (the request then ends in a rollback, status >= 400)."""
    try:
        with db.session.begin_nested():
            result = set_quantities(
                db.session, distribution, wanted(), actor=current_user, now=clock.now()
            )
    except ServiceError as error:
        return error.status, error.message
    return 200, " ".join(_shortfalls(result))


def _back_to_the_shop(distribution: Distribution, status: int, message: str, product_id=None):
    """Without JavaScript: the outcome as a flash message, then the shop (at the product)."""
    if message:
        flash(message, "error" if status >= 400 else "warning")
    elif status == 200:
        flash(_("Your order is saved."), "success")
    anchor = f"product-{product_id}" if product_id else None
    return redirect(url_for("shop.shop", distribution_id=distribution.id, _anchor=anchor), code=303)


def _refused_fields(distribution: Distribution, errors: dict, typed: dict):
    """The page again, each field in error keeping what was typed (a redirect would lose it)."""
    return _page(distribution, _context(distribution, errors, typed)), 400


def _change(distribution: Distribution, product_id: int, op: str):
    """One product's quantity: the one the form typed for it, moved one step by `op`."""
    try:
        product = products_of(db.session, distribution, [product_id])[product_id]
    except ServiceError:
        abort(404)
    try:
        asked = _wanted(product, op)
    except ServiceError as error:
        if error.field is None:  # an unknown action
            raise
        if request.headers.get("HX-Request"):
            return _line_answer(distribution, product, error.status, error.message)
        return _refused_fields(
            distribution, {product_id: error.message}, {product_id: _typed(product)}
        )
    status, message = _save(distribution, lambda: {product_id: asked})
    if not request.headers.get("HX-Request"):
        return _back_to_the_shop(distribution, status, message, product_id)
    return _line_answer(distribution, product, status, message)


def _line_answer(distribution: Distribution, product: Product, status: int, message: str):
    """htmx: the product's row and the basket bar, both replacing theirs out of band (the
    request came from the form around the whole list). The row is drawn again from this
    distribution's offer: what is left after the change."""
    pid = product.id
    typed = {pid: _typed(product)} if status >= 400 else None
    context = _context(distribution, {pid: message} if message else None, typed)
    row = Markup(context["rows"].row(shop_product(db.session, distribution, pid), oob=True))
    return render_template("shop/_line_response.html", row=row, **context), status


@bp.route("/distributions/<int:distribution_id>/shop/products/<int:product_id>", methods=["POST"])
@member_required
def line(distribution_id: int, product_id: int):
    """Set one product's quantity. htmx gets the row and the basket bar; a form, a redirect."""
    distribution = get_in_group_or_404(Distribution, distribution_id)
    return _change(distribution, product_id, request.form.get("op", ""))


@bp.route("/distributions/<int:distribution_id>/shop", methods=["POST"])
@member_required
def save(distribution_id: int):
    """The list's one form, without JavaScript (it sends every product's field): every
    quantity typed that differs from the basket is saved, and a − or + (`dec` / `inc`, whose
    value is the product's id) moves its own product one step from what was typed there.
    Enter saves (the form's default button). One field that is not a quantity saves nothing:
    the page comes again, each field keeping what was typed, the wrong ones marked."""
    distribution = get_in_group_or_404(Distribution, distribution_id)
    pressed = next(
        ((op, request.form.get(op)) for op in ("inc", "dec") if op in request.form), None
    )
    fields = {}
    try:
        for key, text in request.form.items():
            if key.startswith("q-"):
                fields[as_id(key[2:])] = text
        if pressed:
            pressed = (pressed[0], as_id(pressed[1] or ""))
        products = products_of(
            db.session, distribution, [*fields, *([pressed[1]] if pressed else [])]
        )
    except (ValueError, ServiceError):
        abort(404)  # no such product in this distribution
    basket = summarise(find_basket(db.session, distribution, current_user))
    held = {line.product_id: line.quantity for line in basket.lines}
    asked, errors = {}, {}
    for product_id, text in fields.items():
        try:
            asked[product_id] = read_quantity(products[product_id], text or "0")
        except ServiceError as error:
            errors[product_id] = error.message
    if errors:
        flash(_("Some quantities are not right: nothing was saved."), "error")
        return _refused_fields(distribution, errors, fields)
    # A field left as the page showed it is not saved: the basket may have changed meanwhile
    # on another device (`was-<id>`: what the page showed; absent, nothing was ordered).
    wanted = {
        pid: q
        for pid, q in asked.items()
        if q != held.get(pid, 0) and q != _shown(products[pid], request.form.get(f"was-{pid}"))
    }
    if pressed:
        op, product_id = pressed
        base = asked.get(product_id, held.get(product_id, Decimal(0)))
        wanted[product_id] = _stepped(products[product_id], base, op)
    if not wanted:  # nothing changed: no basket made for it, nothing said
        return redirect(url_for("shop.shop", distribution_id=distribution.id), code=303)
    status, message = _save(distribution, lambda: wanted)
    return _back_to_the_shop(distribution, status, message, pressed[1] if pressed else None)


def _shown(product: Product, text: str | None) -> Decimal | None:
    """The quantity the page showed for a product (None when it cannot be read)."""
    try:
        return read_quantity(product, text or "0")
    except ServiceError:
        return None


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
    return render_template(
        "shop/receipt.html",
        distribution=distribution,
        summary=summary,
        unavailable=unavailable_ids(db.session, distribution),
        is_open=distribution.status(clock.now()) == Status.OPEN,
    )
