"""What a column can hold, checked for every row before it is written.

PostgreSQL refuses a name longer than its column, a NUL character in text, an integer
past its type or a number past its precision, and the request would end in a 500;
SQLite stores them silently. One check before each flush, on every model, refuses them
the same way on both databases, as a `ServiceError` (400) naming the field: a service
or a form that forgot a length check still answers with a message, never a crash.
"""

from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import BigInteger, Integer, Numeric, SmallInteger, String, event, inspect
from sqlalchemy.orm import Session

from . import ServiceError

_INT_RANGES = (
    (BigInteger, 2**63 - 1),
    (SmallInteger, 2**15 - 1),
    (Integer, 2**31 - 1),
)


def _column_type(column):
    kind = column.type
    return getattr(kind, "impl_instance", None) or kind


def problem(column, value) -> str | None:
    """Why `value` does not fit `column`, or None."""
    if value is None:
        return None
    kind = _column_type(column)
    if isinstance(value, str):
        if "\x00" in value:
            return _("This text contains a character that is not allowed.")
        length = getattr(kind, "length", None)
        if isinstance(kind, String) and length and len(value) > length:
            return _("At most %(n)d characters.", n=length)
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        for kind_class, limit in _INT_RANGES:
            if isinstance(kind, kind_class):
                return None if -limit - 1 <= value <= limit else _("This number is too large.")
        return None
    if isinstance(value, Decimal) and isinstance(kind, Numeric):
        if not value.is_finite():
            return _("This is not a number.")
        precision, scale = kind.precision, kind.scale
        if precision is not None and scale is not None:
            exponent = value.as_tuple().exponent
            if isinstance(exponent, int) and abs(value) >= Decimal(10) ** (precision - scale):
                return _("This number is too large.")
    return None


def check_row(obj) -> None:
    """Refuse the first value of `obj` that its column cannot hold."""
    state = inspect(obj)
    mapper = state.mapper
    for attr in mapper.column_attrs:
        if not state.attrs[attr.key].history.added and state.persistent:
            continue  # unchanged since loaded: it came from the database
        for column in attr.columns:
            if not hasattr(column, "type"):
                continue
            value = state.dict.get(attr.key)
            why = problem(column, value)
            if why:
                raise ServiceError(f"{attr.key}: {why}", field=attr.key, status=400)


def _before_flush(session, _flush_context, _instances) -> None:
    for obj in list(session.new) + list(session.dirty):
        try:
            check_row(obj)
        except ServiceError:
            # The refused row leaves the session, so that a view catching the refusal to
            # show the form again can still read (an autoflush would refuse again).
            if obj in session.new:
                session.expunge(obj)
            else:
                session.expire(obj)
            raise


def install() -> None:
    """Check the rows of every session (requests, commands, tests) before each flush."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
