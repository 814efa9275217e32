"""Who may see what: decorators and group-scoped lookups."""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps

from flask import abort, g
from flask_login import current_user, login_required
from sqlalchemy import select

from ..extensions import db
from ..models import Catalogue, CatalogueManager, Producer
from ..services.messages import unread_count_query


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


def get_in_group_or_404(model, object_id: int, options=()):
    """Load a group-scoped row of the current group (with loader `options`); another
    group's answers 404."""
    obj = db.session.get(model, object_id, options=list(options))
    if obj is None or g.group is None or obj.group_id != g.group.id:
        abort(404)
    return obj


# ---- one catalogue: its coordinators, its managers ("référents"), its producer -------------
#
# READ: see the catalogue, its products, its orders and summaries.
# MANAGE: also change its products (prices, stock, on/off, import) and remove its
#   unavailable products from the orders. Coordinators and the catalogue's managers;
#   the producer too when the group lets them edit this catalogue (`producer_can_edit`).
# The catalogue's settings (name, producer, managers, archive) stay with coordinators.
READ, MANAGE = "read", "manage"


def managed_catalogue_ids() -> set[int]:
    """Catalogues of the current group the signed-in member manages."""
    if g.membership is None:
        return set()
    return set(
        db.session.scalars(
            select(CatalogueManager.catalogue_id).where(
                CatalogueManager.membership_id == g.membership.id
            )
        )
    )


def is_catalogue_producer(catalogue: Catalogue) -> bool:
    """The signed-in person is the producer of this catalogue (any group)."""
    producer = db.session.get(Producer, catalogue.producer_id)
    return bool(producer and producer.user_id is not None and producer.user_id == current_user.id)


def catalogue_manager_or_coordinator(catalogue: Catalogue) -> bool:
    """A coordinator of the catalogue's group (current group) or one of its managers."""
    if g.group is None or catalogue.group_id != g.group.id:
        return False
    return is_coordinator() or catalogue.id in managed_catalogue_ids()


def may(catalogue: Catalogue, need: str = READ) -> bool:
    """What the signed-in person may do with a catalogue (READ or MANAGE)."""
    if catalogue_manager_or_coordinator(catalogue):
        return True
    if is_catalogue_producer(catalogue):
        return need == READ or catalogue.producer_can_edit
    return False


def catalogue_or_refuse(catalogue_id: int, need: str = READ) -> Catalogue:
    """The catalogue when allowed. Refused: 403 to people of its group and producers
    (they know it exists), 404 to people of other groups, as for any other group's row."""
    catalogue = db.session.get(Catalogue, catalogue_id)
    if catalogue is None:
        abort(404)
    if may(catalogue, need):
        return catalogue
    in_its_group = g.group is not None and catalogue.group_id == g.group.id
    is_producer = db.session.scalar(
        select(Producer.id).where(Producer.user_id == current_user.id).limit(1)
    )
    abort(403 if in_its_group or is_producer else 404)


def catalogue_required(need: str = READ):
    """Load `catalogue_id` from the URL and pass `catalogue` to the view, or refuse."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapper(*args, catalogue_id: int, **kwargs):
            return view(*args, catalogue=catalogue_or_refuse(catalogue_id, need), **kwargs)

        return wrapper

    return decorator


@dataclass(frozen=True)
class Menu:
    """What the menu shows that depends on the person."""

    producer: bool = False  # has a producer page
    manages: bool = False  # manages catalogues of the current group
    unread: int = 0  # messages of the current group not read yet


def menu() -> Menu:
    """The menu's questions, asked in one query once per request, only when a page draws
    the menu (a coordinator sees every catalogue already: not asked for them)."""
    if not current_user.is_authenticated:
        return Menu()
    cached = g.get("menu")
    if cached is None:
        producer = select(Producer.id).where(Producer.user_id == current_user.id)
        columns = {"producer": producer.exists()}
        if g.membership is not None and not is_coordinator():
            columns["manages"] = (
                select(CatalogueManager.catalogue_id)
                .where(CatalogueManager.membership_id == g.membership.id)
                .exists()
            )
        if g.get("group") is not None:
            columns["unread"] = unread_count_query(g.group, current_user).scalar_subquery()
        row = db.session.execute(select(*(c.label(k) for k, c in columns.items()))).one()
        found = row._mapping
        cached = g.menu = Menu(
            producer=bool(found["producer"]),
            manages=bool(found.get("manages")),
            unread=int(found.get("unread") or 0),
        )
    return cached


def register_menu(app) -> None:
    """Menu entries that depend on the person: their producer page, the catalogues they
    manage."""
    app.jinja_env.globals.update(
        menu_is_producer=lambda: menu().producer,
        menu_manages_catalogues=lambda: menu().manages,
        unread_messages=lambda: menu().unread,
    )
