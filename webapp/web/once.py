"""Forms that move money are safe to submit twice.

Each rendered form carries a fresh key (`form_key_field()` in templates). The first
submission stores the key in the request's own transaction (`INSERT ... ON CONFLICT DO
NOTHING`), with where it led and what it said; a second submission of the same form (a
double tap, a retry after a timeout, ten at once) finds the key, changes nothing, and
shows the first result. A refused submission rolls its key back with everything else, so
the form can be corrected and sent again.
"""

from __future__ import annotations

import re
import uuid
from functools import wraps

from flask import flash, redirect, request, session
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from .. import clock
from ..extensions import db
from ..models import FormSubmission
from ..services import ServiceError

FIELD = "form_key"
KEY = re.compile(r"^[0-9a-f]{32}$")


def form_key_field() -> Markup:
    """A hidden input with a new key, for a form that must not act twice."""
    return Markup('<input type="hidden" name="%s" value="%s">') % (FIELD, uuid.uuid4().hex)


def _claim(key: str) -> bool:
    """Store the key; False when another submission of the same form stored it first."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(FormSubmission)
        .values(
            key=key,
            user_id=current_user.id,
            endpoint=(request.endpoint or "")[:80],
            result_url="",
            message="",
            created_at=clock.now(),
        )
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(FormSubmission.key)
    )
    return db.session.scalar(statement) is not None


def once(view):
    """Run a money-moving POST view at most once per rendered form."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        key = request.form.get(FIELD, "")
        if not KEY.match(key):
            raise ServiceError(_("This form is out of date: reload the page and try again."))
        if not _claim(key):
            first = db.session.scalar(select(FormSubmission).where(FormSubmission.key == key))
            if first is None or first.user_id != current_user.id:
                raise ServiceError(_("This form was already sent."), status=409)
            if first.message:
                flash(first.message, "success")
            return redirect(first.result_url or request.referrer or "/", code=303)
        response = view(*args, **kwargs)
        location = getattr(response, "location", None) or ""
        flashes = session.get("_flashes") or []
        db.session.execute(
            update(FormSubmission)
            .where(FormSubmission.key == key)
            .values(result_url=location[:500], message=(flashes[-1][1] if flashes else "")[:500])
        )
        return response

    return wrapper
