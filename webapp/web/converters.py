"""URL converters. Ids in URLs are at most 18 digits and fit the database's integer
columns: anything longer or larger is a page that does not exist (404), not a crash of
the database driver (an overflow on PostgreSQL) further down."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter, ValidationError

# PostgreSQL's `integer` (every id column): a larger id can never name a row.
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """`<int:...>` for ids: 1 to 18 ASCII digits, at most MAX_ID, else no route (404)."""

    regex = r"[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_ID:
            raise ValidationError()
        return number


def register(app) -> None:
    """Replace `int` before any rule is added: every `<int:id>` then uses IdConverter."""
    app.url_map.converters["int"] = IdConverter


def as_id(text: str) -> int:
    """`type=` for ids in forms and query strings (`request.form.get(..., type=as_id)`):
    an id that cannot name a row reads as missing (None), never reaches the database."""
    from ..domain.money import whole

    value = whole(text)
    if value is None or value > MAX_ID:
        raise ValueError(text)  # werkzeug's get() then returns the default
    return value
