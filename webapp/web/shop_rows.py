"""The shop's product rows, drawn in Python: the page's thousand and the row htmx swaps.

A shop may list a thousand products. As a Jinja macro a row cost about 40 µs (some twenty
escaped expressions and attribute lookups), 40 ms of a page whose bare request takes 2 ms;
drawn here from format strings it costs a few µs. The page and the swap draw their rows with
the same `ShopRows.row`, so the two cannot differ.

The rows sit inside one form (`templates/shop/shop.html`) so that the page carries its CSRF
token once: each button names its product's URL (`formaction`) and each quantity field its
product (`q-<id>`). With JavaScript, `static/js/app.js` posts the one product's fields.
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass, field

from flask import url_for
from flask_babel import gettext as _
from markupsafe import Markup, escape

from .filters import money, photo_url, quantity, unit_label

OOB = ' hx-swap-oob="true"'  # the row of an htmx answer replaces its namesake on the page
IN_BASKET, UNAVAILABLE = " in-basket", " unavailable"
_DESCRIPTION = '<p class="muted small">{}</p>'


_TUPLES: dict[tuple, type] = {}


def _plain(row):
    """A SQLAlchemy row as a named tuple: a row reads a dozen fields, and a field of SQLAlchemy's
    Row costs ten times more to read (3 ms for a thousand rows, a third of their drawing)."""
    fields = getattr(row, "_fields", None)
    if fields is None:
        return row
    plain = _TUPLES.get(fields)
    if plain is None:
        plain = _TUPLES[fields] = namedtuple("ShopProduct", fields)
    return plain._make(row)


# Rows of products not in the member's basket, the same for every member: by product and
# (locale, orders open, distribution), the product's row as the shop read it and the HTML
# drawn from it. A row read again that equals the kept one is not drawn again (~0.6 µs a
# row instead of ~4; comparing is cheaper than hashing its decimals). A changed product,
# stock or offer replaces its entry; the memo is dropped if it grows past `_DRAWN_MAX`.
_DRAWN: dict[tuple, tuple[tuple, str]] = {}
_DRAWN_MAX = 10_000


@dataclass
class ShopRows:
    """What every row of one request shares, computed once: URL prefix, labels, locale."""

    distribution_id: int
    is_open: bool
    locale: str
    ordered: dict  # product id -> the member's OrderLine
    errors: dict = field(default_factory=dict)  # product id -> message shown under the row
    typed: dict = field(default_factory=dict)  # product id -> what was typed (kept on error)
    _units: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        url = url_for("shop.line", distribution_id=self.distribution_id, product_id=0)
        self.line_url = escape(url[:-1])
        unavailable, sold_out = escape(_("Unavailable")), escape(_("Sold out"))
        left, your_price = escape(_("Left:")), escape(_("Your price (at the time of your order):"))
        self.labels = {
            "unavailable": f'<p class="tag tag-red">{unavailable}</p>',
            "sold_out": f'<p class="tag tag-red">{sold_out}</p>',
            "left": f'<p class="tag tag-amber">{left} ',  # + what is left
            "your_price": f'<p class="muted small">{your_price} ',  # + the line's price
        }

    def listed(self, product) -> bool:
        """Whether the page lists it: listed in its catalogue, or already in the basket."""
        return (product.listed and not product.archived) or product.id in self.ordered

    def rows(self, products) -> Markup:
        """The rows of one catalogue's list."""
        own = self.ordered.keys() | self.errors.keys() | self.typed.keys()
        context = (self.locale, self.is_open, self.distribution_id)
        html = []
        for product in products:
            pid = product.id
            if pid in own:  # this member's: drawn for them
                plain = _plain(product)
                html.append(self._draw(plain) if self.listed(plain) else "")
                continue
            values, key = tuple(product), (pid, context)
            kept = _DRAWN.get(key)
            if kept is not None and kept[0] == values:
                drawn = kept[1]
            else:
                plain = _plain(product)
                drawn = self._draw(plain) if self.listed(plain) else ""
                if len(_DRAWN) >= _DRAWN_MAX:
                    _DRAWN.clear()
                _DRAWN[key] = (values, drawn)
            html.append(drawn)
        return Markup("".join(html))

    def _unit(self, product) -> str:
        key = (product.unit, product.quantity_per_unit)
        label = self._units.get(key)
        if label is None:
            label = self._units[key] = escape(unit_label(*key, self.locale))
        return label

    def row(self, product, oob: bool = False) -> str:
        """One product: thumb, name, price, stock, and its −/quantity/+ while orders are open."""
        return self._draw(_plain(product), oob)

    def _draw(self, product, oob: bool = False) -> str:
        # Written for speed: one f-string, each field read once (a thousand rows a page).
        pid, name, stock, loc = product.id, product.name, product.stock, self.locale
        line = self.ordered.get(pid)
        unavailable = not product.active or product.archived
        sold_out = stock is not None and stock <= 0
        labels = self.labels
        if unavailable:
            tag = labels["unavailable"]
        elif sold_out:
            tag = labels["sold_out"]
        elif stock is not None:
            tag = f"{labels['left']}{quantity(stock, loc)}</p>"
        else:
            tag = ""
        if product.photo:
            src = escape(photo_url(product.photo, thumb=True))
            thumb = f'<img src="{src}" alt="" width="64" height="64" loading="lazy">'
        else:
            thumb = escape(name[:1])
        description = product.description
        error = self.errors.get(pid) if self.errors else None
        more = ""
        if line or error:
            more = self._more(product, line, error)
        if self.is_open and (line or not unavailable):
            end = self._controls(product, line, unavailable or (sold_out and not line), error)
        elif line:
            end = f'<p class="qty-fixed">× {quantity(line.quantity, loc)}</p>'
        else:
            end = ""
        return (
            f'<li class="product{IN_BASKET if line else ""}{UNAVAILABLE if unavailable else ""}"'
            f' id="product-{pid}"{OOB if oob else ""}>'
            f'<div class="thumb" aria-hidden="true">{thumb}</div>'
            f'<div class="product-info"><h3 id="n{pid}">{escape(name)}</h3>'
            f"{_DESCRIPTION.format(escape(description)) if description else ''}"
            f'<p class="price"><strong>{money(product.price_cents, loc)}</strong>'
            f' <span class="muted">/ {self._unit(product)}</span></p>{tag}{more}</div>{end}</li>'
        )

    def _more(self, product, line, error) -> str:
        """The price the member ordered at when it changed since, and the row's message."""
        out = ""
        if line and line.unit_price_cents != product.price_cents:
            price = money(line.unit_price_cents, self.locale)
            out = f"{self.labels['your_price']}{price}</p>"
        if error:
            out += f'<p class="field-error" id="e{product.id}" role="alert">{escape(error)}</p>'
        return out

    def _controls(self, product, line, no_more: bool, error) -> str:
        pid = product.id
        typed = self.typed.get(pid)
        if typed is not None:
            value = escape(typed)
        else:
            value = quantity(line.quantity, self.locale) if line else "0"
        action = f'formaction="{self.line_url}{pid}"'
        invalid = f' aria-invalid="true" aria-describedby="e{pid}"' if error else ""
        return (
            f'<div class="qty"><button name="op" value="dec" {action} class="secondary"'
            f' aria-labelledby="l-less n{pid}"{"" if line else " disabled"}>−</button>'
            f'<input name="q-{pid}" value="{value}"'
            f' inputmode="{"decimal" if product.weighed else "numeric"}"'
            f' aria-labelledby="l-qty n{pid}"{invalid}>'
            f'<button name="op" value="inc" {action} aria-labelledby="l-more n{pid}"'
            f"{' disabled' if no_more else ''}>+</button></div>"
        )
