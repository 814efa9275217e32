"""The shop's product rows, drawn in Python: the page's thousand and the row htmx swaps.

A shop may list a thousand products. As a Jinja macro a row cost about 40 µs (some twenty
escaped expressions and attribute lookups), 40 ms of a page whose bare request takes 2 ms;
drawn here from format strings it costs a few µs. The page and the swap draw their rows with
the same `ShopRows.row`, so the two cannot differ.

The rows sit inside one form (`templates/shop/shop.html`) so that the page carries its CSRF
token once: each button names its action and product (`inc` / `dec` = id) and each quantity
field its product (`q-<id>`); without JavaScript the form posts to the shop (`shop.save`).
With JavaScript, `static/js/app.js` posts the one product's fields to its own URL.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from flask import url_for
from flask_babel import gettext as _
from markupsafe import escape

from .filters import money, photo_url, quantity, unit_label

OOB = ' hx-swap-oob="true"'  # the row of an htmx answer replaces its namesake on the page
IN_BASKET, UNAVAILABLE = " in-basket", " unavailable"
_DESCRIPTION = '<p class="muted small">{}</p>'


class _Kept(OrderedDict):
    """What was drawn, kept within a budget of characters (or bytes): the least recently used
    goes first. Safe with threaded servers (`flask run`, threaded workers)."""

    def __init__(self, budget: int) -> None:
        super().__init__()
        self.budget, self.size = budget, 0
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            kept = super().get(key)
            if kept is not None:
                self.move_to_end(key)
            return kept

    def put(self, key, values, html) -> None:
        with self.lock:
            old = self.pop(key, None)
            if old is not None:
                self.size -= len(old[-1])
            self[key] = (*values, html)
            self.size += len(html)
            while self.size > self.budget and len(self) > 1:
                self.size -= len(self.popitem(last=False)[1][-1])


# What is drawn for every member alike (products not in their basket), by the products' rows
# as the driver gave them: a row or a whole catalogue read again that equals the kept one is
# not drawn again. A catalogue compares its hundred rows in C (~10 µs) where drawing them
# costs ~400 µs; a row compares in ~0.6 µs where drawing it costs ~4. Keys hold the locale,
# whether orders are open and the distribution; a changed product, stock or offer changes
# the rows and so draws them again.
_SECTIONS = _Kept(budget=4_000_000)  # (catalogue, context) -> (rows, their ids, UTF-8)
_DRAWN = _Kept(budget=4_000_000)  # (product, context) -> (row, html)


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

    def catalogues(self, sections) -> bytes:
        """The shop's list, as the UTF-8 the page sends: each catalogue (a
        `services.orders.ShopSection`) with its rows.

        Bytes, kept so for a catalogue drawn for every member: the view puts them into the
        rendered page (`web/shop.py`). As a string the list (~500 KB, two bytes a character
        for its "€" and "−") was copied into a `Markup`, again by Jinja, joined into the page
        and encoded: 2 ms and as many fresh megabytes a request."""
        html = []
        for section in sections:
            catalogue = section.catalogue
            html += (
                f'<section class="catalogue" aria-labelledby="catalogue-{catalogue.id}">'
                f'<h2 id="catalogue-{catalogue.id}">{escape(catalogue.producer.name)}'
                f' <small class="muted">{escape(catalogue.name)}</small></h2>'
                f'<ul class="products">'.encode(),
                self.rows(section),
                b"</ul></section>",
            )
        return b"".join(html)

    def rows(self, section) -> bytes:
        """The rows of one catalogue's list, in UTF-8."""
        own = self.ordered.keys() | self.errors.keys() | self.typed.keys()
        context = (self.locale, self.is_open, self.distribution_id)
        raw, key = section.raw, (section.catalogue.id, context)
        kept = _SECTIONS.get(key)
        if kept is not None and kept[0] == raw:
            if own.isdisjoint(kept[1]):
                return kept[2]
            ids = kept[1]
        else:
            ids = frozenset(row[0] for row in raw)
        if not own.isdisjoint(ids):  # some of this member's: drawn for them
            return "".join(self._each(raw, section.read, context, own)).encode()
        html = "".join(self._each(raw, section.read, context, ())).encode()
        _SECTIONS.put(key, (raw, ids), html)
        return html

    def _each(self, raw, read, context, own):
        for row in raw:
            pid = row[0]
            if pid in own:
                product = read(row)
                yield self._draw(product) if self.listed(product) else ""
                continue
            key = (pid, context)
            kept = _DRAWN.get(key)
            if kept is not None and kept[0] == row:
                yield kept[1]
                continue
            product = read(row)
            drawn = self._draw(product) if self.listed(product) else ""
            _DRAWN.put(key, (row,), drawn)
            yield drawn

    def _unit(self, product) -> str:
        key = (product.unit, product.quantity_per_unit)
        label = self._units.get(key)
        if label is None:
            label = self._units[key] = escape(unit_label(*key, self.locale))
        return label

    def row(self, product, oob: bool = False) -> str:
        """One product: thumb, name, price, stock, and its −/quantity/+ while orders are open."""
        return self._draw(product, oob)

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
        invalid = f' aria-invalid="true" aria-describedby="e{pid}"' if error else ""
        # What the page showed, for the form without JavaScript: a field left as it was does
        # not undo a change made meanwhile elsewhere (`shop.save`).
        shown = ""
        if line:
            was = quantity(line.quantity, self.locale)
            shown = f'<input type="hidden" name="was-{pid}" value="{was}">'
        return (
            f'<div class="qty">{shown}<button name="dec" value="{pid}" class="secondary"'
            f' aria-labelledby="l-less n{pid}"{"" if line else " disabled"}>−</button>'
            f'<input name="q-{pid}" value="{value}"'
            f' inputmode="{"decimal" if product.weighed else "numeric"}"'
            f' aria-labelledby="l-qty n{pid}"{invalid}>'
            f'<button name="inc" value="{pid}" aria-labelledby="l-more n{pid}"'
            f"{' disabled' if no_more else ''}>+</button></div>"
        )
