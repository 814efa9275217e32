"""Coordinators set up producers, catalogues and products (step 1 of the guide)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from .. import clock
from ..domain.money import AmountError, parse_amount_cents, parse_quantity, whole
from ..extensions import db
from ..models import UNITS, Catalogue, Group, Producer, Product, User
from ..services import ServiceError, producers
from ..services import catalogues as svc
from ..services.accounts import group_members
from ..services.permissions import can_edit_producer
from .access import (
    MANAGE,
    READ,
    catalogue_required,
    coordinator_required,
    get_in_group_or_404,
    is_coordinator,
    may,
)
from .converters import as_id
from .groups import join_url

bp = Blueprint("catalogues", __name__, url_prefix="/catalogues")


def _producer_or_404(producer_id: int) -> Producer:
    producer = db.session.get(Producer, producer_id)
    if producer is None or producer not in svc.producers_of(db.session, g.group, archived=True):
        abort(404)
    return producer


@bp.route("/")
@login_required
def index():
    """Coordinators: every catalogue and producer; managers: the catalogues they manage."""
    catalogues, producers_list = [], []
    if is_coordinator():
        catalogues = svc.catalogues_of(db.session, g.group)
        producers_list = svc.producers_of(db.session, g.group)
    elif g.membership is not None:
        catalogues = svc.managed_by(db.session, g.membership)
        if not catalogues:
            abort(403)
    else:
        abort(403)
    return render_template("catalogues/index.html", catalogues=catalogues, producers=producers_list)


@bp.route("/producers/new", methods=["GET", "POST"])
@bp.route("/producers/<int:producer_id>", methods=["GET", "POST"])
@coordinator_required
def producer(producer_id: int | None = None):
    producer = _producer_or_404(producer_id) if producer_id else None
    errors = {}
    if request.method == "POST":
        if producer and not can_edit_producer(current_user, producer, session=db.session):
            abort(403)  # another group's record, shared through a catalogue: read only
        form = request.form
        try:
            saved = svc.save_producer(
                db.session,
                g.group,
                producer,
                name=form.get("name", ""),
                trade=form.get("trade", ""),
                city=form.get("city", ""),
                description=form.get("description", ""),
                email=form.get("order_email"),  # absent: kept as it is
            )
        except ServiceError as error:
            errors[error.field or "name"] = error.message
        else:
            flash(_("Producer %(name)s saved.", name=saved.name), "success")
            return redirect(url_for("catalogues.index"))
    account = db.session.get(User, producer.user_id) if producer and producer.user_id else None
    return render_template(
        "catalogues/producer.html",
        producer=producer,
        errors=errors,
        form=request.form,
        account=account,
        invitation=producers.pending_invitation(db.session, producer, now=clock.now())
        if producer
        else None,
    ), 400 if errors else 200


@bp.route("/producers/<int:producer_id>/invite", methods=["POST"])
@coordinator_required
def invite_producer(producer_id: int):
    """Send the producer an invitation to their producer page."""
    producer = _producer_or_404(producer_id)
    invitation = producers.invite_producer(
        db.session,
        g.group,
        producer,
        email=request.form.get("email", ""),
        actor=current_user,
        now=clock.now(),
        join_url=join_url,
    )
    flash(_("Invitation sent to %(email)s.", email=invitation.email), "success")
    return redirect(url_for("catalogues.producer", producer_id=producer.id))


@bp.route("/new", methods=["GET", "POST"])
@bp.route("/<int:catalogue_id>/edit", methods=["GET", "POST"])
@coordinator_required
def edit(catalogue_id: int | None = None):
    catalogue = get_in_group_or_404(Catalogue, catalogue_id) if catalogue_id else None
    producers = svc.producers_of(db.session, g.group)
    errors = {}
    if request.method == "POST":
        producer = next(
            (p for p in producers if str(p.id) == request.form.get("producer_id")), None
        )
        if producer is None:
            errors["producer_id"] = _("Choose a producer.")
        else:
            try:
                saved = svc.save_catalogue(
                    db.session,
                    g.group,
                    catalogue,
                    producer=producer,
                    name=request.form.get("name", ""),
                    description=request.form.get("description", ""),
                    producer_can_edit=request.form.get("producer_can_edit") == "1",
                )
            except ServiceError as error:
                errors[error.field or "name"] = error.message
            else:
                flash(_("Catalogue %(name)s saved.", name=saved.name), "success")
                return redirect(url_for("catalogues.show", catalogue_id=saved.id))
    return render_template(
        "catalogues/edit.html",
        catalogue=catalogue,
        producers=producers,
        errors=errors,
        form=request.form,
        managers=svc.managers_of(db.session, catalogue) if catalogue else [],
        members=group_members(db.session, g.group) if catalogue else [],
    ), 400 if errors else 200


@bp.route("/<int:catalogue_id>/managers", methods=["POST"])
@coordinator_required
def add_manager(catalogue_id: int):
    """Give a member this catalogue to manage."""
    catalogue = get_in_group_or_404(Catalogue, catalogue_id)
    membership = svc.add_manager(
        db.session, catalogue, request.form.get("membership_id", type=as_id)
    )
    flash(
        _("%(name)s manages %(catalogue)s.", name=membership.user.name, catalogue=catalogue.name),
        "success",
    )
    return redirect(url_for("catalogues.edit", catalogue_id=catalogue.id))


@bp.route("/<int:catalogue_id>/managers/<int:membership_id>/remove", methods=["POST"])
@coordinator_required
def remove_manager(catalogue_id: int, membership_id: int):
    catalogue = get_in_group_or_404(Catalogue, catalogue_id)
    svc.remove_manager(db.session, catalogue, membership_id)
    flash(_("Catalogue manager removed."), "success")
    return redirect(url_for("catalogues.edit", catalogue_id=catalogue.id))


def _group_of(catalogue: Catalogue) -> Group:
    """The catalogue's group (a producer may edit it from outside the group)."""
    return db.session.get(Group, catalogue.group_id)


@bp.route("/<int:catalogue_id>")
@catalogue_required(READ)
def show(catalogue: Catalogue):
    return render_template(
        "catalogues/show.html",
        catalogue=catalogue,
        group=_group_of(catalogue),
        can_manage=may(catalogue, MANAGE),
        coordinator=is_coordinator() and catalogue.group_id == g.group.id,
    )


@bp.route("/<int:catalogue_id>/products/active", methods=["POST"])
@catalogue_required(MANAGE)
def bulk_active(catalogue: Catalogue):
    ids = [i for i in map(whole, request.form.getlist("product_id")) if i is not None]
    active = request.form.get("active") == "1"
    count = svc.set_active(db.session, catalogue, ids, active)
    flash(
        ngettext("%(num)d product switched on.", "%(num)d products switched on.", count)
        if active
        else ngettext("%(num)d product switched off.", "%(num)d products switched off.", count),
        "success",
    )
    return redirect(url_for("catalogues.show", catalogue_id=catalogue.id))


@bp.route("/<int:catalogue_id>/duplicate", methods=["POST"])
@coordinator_required
def duplicate(catalogue_id: int):
    catalogue = get_in_group_or_404(Catalogue, catalogue_id)
    copy = svc.duplicate_catalogue(
        db.session, catalogue, name=_("%(name)s (copy)", name=catalogue.name)
    )
    flash(_("Catalogue duplicated."), "success")
    return redirect(url_for("catalogues.show", catalogue_id=copy.id))


@bp.route("/<int:catalogue_id>/archive", methods=["POST"])
@coordinator_required
def archive(catalogue_id: int):
    catalogue = get_in_group_or_404(Catalogue, catalogue_id)
    svc.archive(db.session, catalogue, now=clock.now())
    flash(_("Catalogue %(name)s archived.", name=catalogue.name), "success")
    return redirect(url_for("catalogues.index"))


def _product_input(form, group: Group) -> tuple[svc.ProductInput | None, dict]:
    """Read the product form; return the input or field errors (nothing is saved then)."""
    errors = {}

    def number(name, reader, default=None):
        text = (form.get(name) or "").strip()
        if not text:
            return default
        try:
            return reader(text)
        except AmountError as error:
            errors[name] = (
                _("A quantity cannot be negative.")
                if str(error) == "negative"
                else _("Enter a number, like 2 or 1,5.")
            )
            return default

    price = number("price", parse_amount_cents, None)
    if price is None and "price" not in errors:
        errors["price"] = _("A price is required.")
    data = svc.ProductInput(
        name=form.get("name", ""),
        description=form.get("description", ""),
        unit=form.get("unit", "piece"),
        quantity_per_unit=number("quantity_per_unit", parse_quantity, Decimal(1)) or Decimal(1),
        price_cents=price or 0,
        vat_rate=Decimal(form.get("vat_rate", "5.5"))
        if _is_rate(form.get("vat_rate"))
        else Decimal(-1),
        stock=number("stock", parse_quantity, None),
        active=form.get("active") == "1",
        weighed=form.get("weighed") == "1",
    )
    errors.update({k: v for k, v in svc.check_product(group, data).items() if k not in errors})
    return (None if errors else data), errors


def _is_rate(text: str | None) -> bool:
    """A finite number ('NaN', 'sNaN' and 'Infinity' parse as Decimals but are no rates)."""
    try:
        return Decimal(text or "x").is_finite()
    except ArithmeticError:
        return False


@bp.route("/<int:catalogue_id>/products/new", methods=["GET", "POST"])
@bp.route("/<int:catalogue_id>/products/<int:product_id>", methods=["GET", "POST"])
@catalogue_required(MANAGE)
def product(catalogue: Catalogue, product_id: int | None = None):
    group = _group_of(catalogue)
    product = db.session.get(Product, product_id) if product_id else None
    if product_id and (product is None or product.catalogue_id != catalogue.id):
        abort(404)
    errors = {}
    if request.method == "POST":
        data, errors = _product_input(request.form, group)
        photo = request.files.get("photo")
        photo_name = None
        if data and photo and photo.filename:
            try:
                photo_name = svc.save_photo(
                    Path(current_app.instance_path) / "photos", photo.read()
                )
            except ServiceError as error:
                errors["photo"] = error.message
        if not errors:
            saved = svc.save_product(db.session, group, catalogue, product, data)
            if photo_name:
                saved.photo = photo_name
            flash(_("Product %(name)s saved.", name=saved.name), "success")
            return redirect(url_for("catalogues.show", catalogue_id=catalogue.id))
    return render_template(
        "catalogues/product.html",
        catalogue=catalogue,
        product=product,
        errors=errors,
        form=request.form,
        units=UNITS,
        group=group,
    ), 400 if errors else 200


@bp.route("/<int:catalogue_id>/import", methods=["GET", "POST"])
@catalogue_required(MANAGE)
def import_products(catalogue: Catalogue):
    """Upload a catalogue file, see every row with its errors, then import (or skip the wrong)."""
    from flask_babel import get_locale

    from ..services import product_import
    from .units import accepted_units, unit_label

    group = _group_of(catalogue)
    text, preview, error = "", None, None
    if request.method == "POST":
        upload = request.files.get("file")
        try:
            if upload and upload.filename:
                text = product_import.decode(upload.read())
            else:
                text = request.form.get("csv_text", "")
            preview = product_import.parse(text, group, catalogue, db.session)
            if request.form.get("confirm"):
                count = product_import.import_rows(
                    db.session,
                    group,
                    catalogue,
                    preview.rows,
                    skip_wrong=request.form.get("skip") == "1",
                )
                imported = ngettext(
                    "%(num)d product imported.", "%(num)d products imported.", count
                )
                flash(imported, "success")
                return redirect(url_for("catalogues.show", catalogue_id=catalogue.id))
        except ServiceError as service_error:
            # Shown on the page beside the file; the 4xx answer rolls the request back.
            error = service_error
    status = error.status if error else (400 if preview and preview.wrong else 200)
    locale = str(get_locale())
    return render_template(
        "catalogues/import.html",
        catalogue=catalogue,
        preview=preview,
        text=text,
        error=error,
        unit_label=lambda unit, per_unit: unit_label(unit, Decimal(per_unit), locale),
        units=accepted_units(locale),
        formats=product_import.formats.FORMATS,
    ), status


@bp.route("/producers/<int:producer_id>/archive", methods=["POST"])
@coordinator_required
def archive_producer(producer_id: int):
    producer = _producer_or_404(producer_id)
    if producer.created_in_group_id != g.group.id:
        abort(403)  # a producer shared with other groups is archived by the group that made it
    svc.archive(db.session, producer, now=clock.now())
    flash(_("Producer %(name)s archived.", name=producer.name), "success")
    return redirect(url_for("catalogues.index"))


@bp.route("/<int:catalogue_id>/products/<int:product_id>/archive", methods=["POST"])
@catalogue_required(MANAGE)
def archive_product(catalogue: Catalogue, product_id: int):
    product = db.session.get(Product, product_id)
    if product is None or product.catalogue_id != catalogue.id:
        abort(404)
    svc.archive(db.session, product, now=clock.now())
    flash(_("Product %(name)s archived.", name=product.name), "success")
    return redirect(url_for("catalogues.show", catalogue_id=catalogue.id))
