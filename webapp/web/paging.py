"""Pages of a list that grows: `?page=N` read safely, one COUNT, LIMIT/OFFSET on a select.

Offset rather than keyset: every list here is per group (a thousand members, a few hundred
ledger entries a year per member), so the offset stays small, and "page N of M" with plain
links needs the count anyway. Each query handed in must have a total order (end its
ORDER BY with a unique column) so that no row is shown twice or skipped between pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

from flask import request, url_for
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ..domain.money import whole

PER_PAGE = 50
# A page number longer than this is no page anyone reached by a link: read as the first.
MAX_DIGITS = 9


def page_number(text: str | None) -> int:
    """The page asked for, from 1; anything that is not ASCII digits (or is 0) reads as 1."""
    return whole(text, max_digits=MAX_DIGITS) or 1


@dataclass(frozen=True)
class Page:
    """One page of a list: its items and where it sits among the others."""

    items: list
    number: int
    total: int
    per_page: int = PER_PAGE
    # Where the pager's links go: the list's own page, also when a POST answered with it
    # (an invitation sent from the members page); None: the page being answered.
    endpoint: str | None = None

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.per_page

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    def url(self, number: int, anchor: str | None = None) -> str:
        """This same page of the list (filters, search, sort kept) at another page number.
        The path comes from the route's own values; the query string is copied as text
        (never as arguments of url_for, which some names would break)."""
        if self.endpoint is not None and self.endpoint != request.endpoint:
            path, args = url_for(self.endpoint), []
        else:
            path = url_for(request.endpoint, **(request.view_args or {}))
            args = [(k, v) for k, v in request.args.items(multi=True) if k != "page"]
        if number > 1:
            args.append(("page", str(number)))
        query = f"?{urlencode(args)}" if args else ""
        return f"{path}{query}{f'#{quote(anchor)}' if anchor else ''}"


def count(session: Session, query: Select) -> int:
    """How many rows the query gives, in one statement."""
    counted = select(func.count()).select_from(query.order_by(None).subquery())
    return int(session.scalar(counted) or 0)


def paginate(
    session: Session,
    query: Select,
    page_text: str | None,
    *,
    per_page: int = PER_PAGE,
    total: int | None = None,
    rows: bool = False,
    endpoint: str | None = None,
) -> Page:
    """The asked page of `query` (a page past the end shows the last one).

    `total` when the caller already counted (with its own aggregates); `rows` for a query
    of several columns, whose items are then tuples rather than the first column."""
    if total is None:
        total = count(session, query)
    last = max(1, -(-total // per_page))
    number = min(page_number(page_text), last)
    limited = query.limit(per_page).offset((number - 1) * per_page)
    items = list(session.execute(limited) if rows else session.scalars(limited))
    return Page(items=items, number=number, total=total, per_page=per_page, endpoint=endpoint)
