"""Coordinators plan distributions and read what to send and print (steps 2 to 4): the
order window (open or close orders now), each distribution's own offer, the orders."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from .. import clock
from ..domain.money import whole
from ..extensions import db
from ..models import Distribution, Place
from ..services import ServiceError, offers, planning, reports
from ..services.catalogues import catalogues_of
from ..services.distributions import planning_query, tell_moved, whereabouts
from ..services.notices import tell_cancelled, tell_removed
from .access import (
    coordinator_required,
    get_in_group_or_404,
    is_coordinator,
    managed_catalogue_ids,
    member_required,
)
from .converters import as_id
from .csvs import cents as _cents
from .csvs import coded as _coded
from .csvs import csv_response as _csv
from .csvs import qty as _qty
from .paging import paginate

bp = Blueprint("distributions", __name__)

# A distribution's card carries its window and up to eight actions: fewer per page than rows.
PER_PAGE = 20


@bp.route("/distributions/")
@coordinator_required
def index():
    """Coming distributions first, then past ones, a page of cards at a time."""
    now = clock.now()
    page = paginate(
        db.session,
        planning_query(g.group, now=now),
        request.args.get("page"),
        per_page=PER_PAGE,
    )
    return render_template("distributions/index.html", page=page, now=now)


def _local(field: str, errors: dict) -> datetime | None:
    """Read a datetime-local field in the group's time zone."""
    text = (request.form.get(field) or "").strip()
    try:
        naive = datetime.fromisoformat(text)
        # year 1 or 9999 overflows when shifted to UTC: refused like any bad date
        return naive.replace(tzinfo=ZoneInfo(g.group.timezone)).astimezone(ZoneInfo("UTC"))
    except (ValueError, OverflowError):
        errors[field] = _("Enter a date and a time.")
        return None


def _form_window(errors: dict) -> planning.Window | None:
    values = {
        f: _local(f, errors) for f in ("starts_at", "ends_at", "orders_open_at", "orders_close_at")
    }
    if errors:
        return None
    window = planning.Window(**values)
    errors.update(planning.check(window))
    return None if errors else window


def _choices():
    places = db.session.scalars(select(Place).where(Place.group_id == g.group.id)).all()
    return places, catalogues_of(db.session, g.group)


def _selected(places, catalogues, errors):
    place = next((p for p in places if str(p.id) == request.form.get("place_id")), None)
    if place is None:
        errors["place_id"] = _("Choose a place.")
    wanted = set(request.form.getlist("catalogue_id"))
    chosen = [c for c in catalogues if str(c.id) in wanted]
    if not chosen:
        errors["catalogues"] = _("Choose at least one catalogue.")
    return place, chosen


def _defaults(now: datetime) -> dict:
    zone = ZoneInfo(g.group.timezone)
    day = (now.astimezone(zone) + timedelta(days=7)).date()
    start = datetime.combine(day, time(18, 0))
    return {
        "starts_at": start,
        "ends_at": start + timedelta(hours=2),
        "orders_open_at": start - timedelta(days=7),
        "orders_close_at": start - timedelta(days=2),
    }


@bp.route("/distributions/new", methods=["GET", "POST"])
@coordinator_required
def new():
    places, catalogues = _choices()
    errors: dict = {}
    if request.method == "POST":
        place, chosen = _selected(places, catalogues, errors)
        window = _form_window(errors)
        repeat = request.form.get("repeat", "once")
        count = request.form.get("count", "1")
        if whole(count, max_digits=3) is None:
            errors["count"] = _("Enter a number.")
        if not errors:
            try:
                windows = planning.series(
                    window,
                    every_days={"weekly": 7, "fortnightly": 14}.get(repeat),
                    monthly=repeat == "monthly",
                    count=1 if repeat == "once" else whole(count, max_digits=3),
                )
                created = planning.create_distributions(
                    db.session, g.group, place=place, catalogues=chosen, windows=windows
                )
            except ServiceError as error:
                errors[error.field or "starts_at"] = error.message
            else:
                flash(
                    ngettext(
                        "%(num)d distribution created.",
                        "%(num)d distributions created.",
                        len(created),
                    ),
                    "success",
                )
                return redirect(url_for("distributions.index"))
    return _form_page(None, places, catalogues, errors)


def _form_page(distribution: Distribution | None, places, catalogues, errors: dict):
    """The new/edit form, with the field errors of a refused POST (and a 400 then)."""
    return render_template(
        "distributions/form.html",
        distribution=distribution,
        places=places,
        catalogues=catalogues,
        errors=errors,
        form=request.form,
        defaults=None if distribution else _defaults(clock.now()),
        tz=ZoneInfo(g.group.timezone),
    ), 400 if errors else 200


@bp.route("/distributions/<int:distribution_id>/edit", methods=["GET", "POST"])
@coordinator_required
def edit(distribution_id: int):
    distribution = get_in_group_or_404(Distribution, distribution_id)
    places, catalogues = _choices()
    errors: dict = {}
    if request.method == "POST":
        place, chosen = _selected(places, catalogues, errors)
        window = _form_window(errors)
        if not errors:
            before = whereabouts(distribution)
            try:
                planning.update_distribution(
                    db.session,
                    distribution,
                    place=place,
                    catalogues=chosen,
                    window=window,
                    actor=current_user,
                    now=clock.now(),
                )
            except ServiceError as error:
                errors[error.field or "starts_at"] = error.message
            else:
                told = tell_moved(db.session, distribution, before, now=clock.now())
                flash(_("Distribution saved."), "success")
                if told:
                    flash(
                        ngettext(
                            "%(num)d person who ordered or is on duty is told of the change.",
                            "%(num)d people who ordered or are on duty are told of the change.",
                            told,
                        ),
                        "info",
                    )
                return redirect(url_for("distributions.index"))
    return _form_page(distribution, places, catalogues, errors)


@bp.route("/distributions/<int:distribution_id>/cancel", methods=["POST"])
@coordinator_required
def cancel(distribution_id: int):
    distribution = get_in_group_or_404(Distribution, distribution_id)
    told = planning.cancel_distribution(
        db.session, distribution, actor=current_user, now=clock.now()
    )
    tell_cancelled(db.session, told, distribution, now=clock.now())
    flash(
        ngettext(
            "Distribution cancelled; %(num)d member who had ordered is told.",
            "Distribution cancelled; %(num)d members who had ordered are told.",
            len(told),
        ),
        "success",
    )
    return redirect(url_for("distributions.index"))


@bp.route("/places", methods=["GET", "POST"])
@coordinator_required
def places():
    errors: dict = {}
    if request.method == "POST":
        try:
            planning.save_place(
                db.session,
                g.group,
                None,
                name=request.form.get("name", ""),
                address=request.form.get("address", ""),
            )
        except ServiceError as error:
            errors[error.field or "name"] = error.message
        else:
            flash(_("Place saved."), "success")
            return redirect(url_for("distributions.places"))
    all_places = db.session.scalars(select(Place).where(Place.group_id == g.group.id)).all()
    return render_template(
        "distributions/places.html", places=all_places, errors=errors, form=request.form
    ), 400 if errors else 200


@bp.route("/distributions/<int:distribution_id>/orders")
@coordinator_required
def orders(distribution_id: int):
    distribution = get_in_group_or_404(Distribution, distribution_id)
    catalogue_id = request.args.get("catalogue", type=as_id)
    if catalogue_id and catalogue_id not in {c.id for c in distribution.catalogues}:
        abort(404)
    day = reports.day_orders(db.session, distribution, catalogue_id=catalogue_id)
    summaries = reports.product_summary(day, distribution.catalogues)
    if request.args.get("format") == "csv":
        rows = [
            [
                _("Basket"),
                _("Member"),
                _("Phone"),
                _("Producer"),
                _("Product"),
                _("Quantity"),
                _("Unit price"),
                _("Total"),
                _("Available"),
            ]
        ]
        producers = {c.id: c.producer.name for c in distribution.catalogues}
        for order in day:
            for line in order.lines:
                rows.append(
                    [
                        order.basket.number,
                        order.user.sort_name,
                        order.user.phone,
                        producers.get(line.product.catalogue_id, ""),
                        line.product.name,
                        _qty(line.quantity),
                        _cents(line.unit_price_cents),
                        _cents(line.total_cents),
                        _coded("yes", _("yes")) if line.product.active else _coded("no", _("no")),
                    ]
                )
        return _csv(rows, f"orders-{distribution.id}.csv")
    unavailable = sum(order.unavailable for order in day)
    return render_template(
        "distributions/orders.html",
        distribution=distribution,
        state=distribution.status(clock.now()),
        orders=day,
        summaries=summaries,
        catalogue_id=catalogue_id,
        unavailable=unavailable,
        total=sum(o.total_cents for o in day),
    )


@bp.route("/distributions/<int:distribution_id>/remove-unavailable", methods=["POST"])
@coordinator_required
def remove_unavailable(distribution_id: int):
    distribution = get_in_group_or_404(Distribution, distribution_id)
    lines = reports.remove_unavailable(
        db.session, distribution, actor=current_user, now=clock.now()
    )
    tell_removed(db.session, lines, distribution, now=clock.now())
    flash(
        ngettext(
            "%(num)d line of an unavailable product removed from the orders.",
            "%(num)d lines of unavailable products removed from the orders.",
            len(lines),
        ),
        "success",
    )
    return redirect(url_for("distributions.orders", distribution_id=distribution.id))


@bp.route("/distributions/<int:distribution_id>/baskets/<int:user_id>", methods=["GET", "POST"])
@coordinator_required
def edit_basket(distribution_id: int, user_id: int):
    """A coordinator changes any member's basket until the distribution is validated."""
    from ..models import Membership, User
    from ..services.orders import (
        find_basket,
        read_quantity,
        set_quantities,
        shop_products,
        summarise,
    )

    distribution = get_in_group_or_404(Distribution, distribution_id)
    membership = db.session.scalar(
        select(Membership).where(Membership.user_id == user_id, Membership.group_id == g.group.id)
    )
    if membership is None:
        abort(404)
    member = db.session.get(User, user_id)
    catalogues = shop_products(db.session, distribution)
    products = {p.id: p for section in catalogues for p in section.products}
    errors, typed = {}, {}
    if request.method == "POST":
        wanted = {}
        for key, text in request.form.items():
            if not key.startswith("q-"):
                continue
            pid = whole(key[2:])
            if pid not in products:
                abort(404)
            typed[pid] = text
            try:
                wanted[pid] = read_quantity(products[pid], text or "0")
            except ServiceError as error:
                errors[pid] = error.message
        if not errors:
            set_quantities(
                db.session, distribution, wanted, actor=current_user, now=clock.now(), member=member
            )
            flash(_("Basket of %(name)s saved.", name=member.name), "success")
            return redirect(url_for("distributions.orders", distribution_id=distribution.id))
    summary = summarise(find_basket(db.session, distribution, member))
    ordered = {line.product_id: line for line in summary.lines}
    return render_template(
        "distributions/basket.html",
        distribution=distribution,
        member=member,
        catalogues=catalogues,
        ordered=ordered,
        summary=summary,
        errors=errors,
        typed=typed,
    ), 400 if errors else 200


@bp.route("/distributions/<int:distribution_id>/baskets/pick")
@coordinator_required
def pick_member(distribution_id: int):
    """Find the member whose basket to open by name or e-mail; one match opens it."""
    from ..models import Membership, User
    from ..services.accounts import named

    distribution = get_in_group_or_404(Distribution, distribution_id)
    q = (request.args.get("q") or "").strip()
    matches = []
    if q:
        matches = db.session.scalars(
            select(User)
            .join(Membership)
            .where(Membership.group_id == g.group.id, named(q))
            .order_by(User.last_name)
            .limit(30)
        ).all()
    if len(matches) == 1:
        return redirect(
            url_for(
                "distributions.edit_basket", distribution_id=distribution.id, user_id=matches[0].id
            )
        )
    return render_template(
        "distributions/pick.html", distribution=distribution, q=q, matches=matches
    )


@bp.route("/distributions/<int:distribution_id>/offer", methods=["GET", "POST"])
@member_required
def offer(distribution_id: int):
    """This distribution's own offer: each product on or off, and what is left.

    Coordinators set every catalogue's; a catalogue manager, only their catalogues'."""
    distribution = get_in_group_or_404(Distribution, distribution_id)
    catalogue_ids = None
    if not is_coordinator():
        catalogue_ids = managed_catalogue_ids() & {c.id for c in distribution.catalogues}
        if not catalogue_ids:
            abort(403)
    sections = [
        section
        for section in offers.offer_of(db.session, distribution)
        if catalogue_ids is None or section.catalogue.id in catalogue_ids
    ]
    errors: dict[str, str] = {}
    if request.method == "POST":
        rows = {row.id: row for section in sections for row in section.rows}
        changes = _offer_changes(rows, errors)
        if not errors:
            changed = offers.set_offer(
                db.session,
                distribution,
                changes,
                actor=current_user,
                now=clock.now(),
                catalogue_ids=catalogue_ids,
            )
            flash(
                ngettext(
                    "%(num)d product changed, for this distribution only.",
                    "%(num)d products changed, for this distribution only.",
                    changed,
                ),
                "success",
            )
            return redirect(url_for("distributions.offer", distribution_id=distribution.id))
    return render_template(
        "distributions/offer.html",
        distribution=distribution,
        sections=sections,
        state=distribution.status(clock.now()),
        errors=errors,
        form=request.form if errors else {},
        catalogue_applies=offers.catalogue_applies(distribution),
        coordinator=catalogue_ids is None,
    ), 400 if errors else 200


def _offer_changes(rows: dict, errors: dict) -> dict[int, offers.OfferChange]:
    """What the offer form changes: only the switches and stocks moved from what the page
    showed, so a stock counted down by orders meanwhile is not written back."""
    changes = {}
    for text in request.form.getlist("p"):
        row = rows.get(whole(text))
        if row is None:
            abort(404)
        change = offers.OfferChange()
        was_on = request.form.get(f"was-on-{row.id}")
        if was_on is not None and row.catalogue_active:
            now_on = request.form.get(f"on-{row.id}") == "1"
            if now_on != (was_on == "1"):
                change.active = now_on
        typed = request.form.get(f"stock-{row.id}", "").strip()
        if typed != request.form.get(f"was-stock-{row.id}", "").strip():
            try:
                change.stock = offers.read_stock(row, typed)
            except ServiceError as error:
                errors[error.field] = error.message
        if change.active is not None or change.changes_stock:
            changes[row.id] = change
    return changes


def _back(distribution: Distribution) -> str:
    """Where to go after opening or closing orders: the page the button was on."""
    target = request.form.get("next", "")
    if target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("distributions.index")


@bp.route("/distributions/<int:distribution_id>/open-now", methods=["POST"])
@coordinator_required
def open_now(distribution_id: int):
    distribution = get_in_group_or_404(Distribution, distribution_id)
    planning.open_orders_now(db.session, distribution, actor=current_user, now=clock.now())
    flash(_("Orders are open: members can order now."), "success")
    return redirect(_back(distribution), code=303)


@bp.route("/distributions/<int:distribution_id>/close-now", methods=["POST"])
@coordinator_required
def close_now(distribution_id: int):
    distribution = get_in_group_or_404(Distribution, distribution_id)
    planning.close_orders_now(db.session, distribution, actor=current_user, now=clock.now())
    flash(_("Orders are closed: baskets can no longer change."), "success")
    return redirect(_back(distribution), code=303)
