"""Who may see what: decorators and group-scoped lookups."""

from __future__ import annotations

from functools import wraps

from flask import abort, g
from flask_login import current_user, login_required

from ..extensions import db


def member_required(view):
    """Signed in and a member of a group."""

    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if g.group is None:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def coordinator_required(view):
    """Signed in as a coordinator of the current group."""

    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if g.membership is None or not g.membership.is_coordinator:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def is_coordinator() -> bool:
    return bool(current_user.is_authenticated and g.membership and g.membership.is_coordinator)


def get_in_group_or_404(model, object_id: int):
    """Load a group-scoped row of the current group; another group's answers 404."""
    obj = db.session.get(model, object_id)
    if obj is None or g.group is None or obj.group_id != g.group.id:
        abort(404)
    return obj
