"""Coordinators prepare the cycle: producers, catalogues, products, photos."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from ..domain.cycle import Action
from ..models import (
    UNITS,
    Basket,
    Catalogue,
    CatalogueManager,
    Distribution,
    Group,
    Membership,
    OrderLine,
    Producer,
    Product,
    User,
)
from . import ServiceError, audit, cycle_rules
from .accounts import normalise_email, valid_email

MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PHOTO_PIXELS = 40_000_000  # refuse decompression bombs before decoding
PHOTO_SIZE = 800
THUMB_SIZE = 160


def producers_of(session: Session, group: Group, *, archived: bool = False) -> list[Producer]:
    """Producers created in the group or supplying it through a catalogue."""
    supplying = select(Catalogue.producer_id).where(Catalogue.group_id == group.id)
    query = select(Producer).where(
        (Producer.created_in_group_id == group.id) | Producer.id.in_(supplying)
    )
    if not archived:
        query = query.where(Producer.archived_at.is_(None))
    return list(session.scalars(query.order_by(Producer.name)))


def catalogues_of(session: Session, group: Group, *, archived: bool = False) -> list[Catalogue]:
    query = (
        select(Catalogue)
        .where(Catalogue.group_id == group.id)
        .options(selectinload(Catalogue.producer), selectinload(Catalogue.products))
        .order_by(Catalogue.name)
    )
    if not archived:
        query = query.where(Catalogue.archived_at.is_(None))
    return list(session.scalars(query))


def save_producer(
    session: Session,
    group: Group,
    producer: Producer | None,
    *,
    name: str,
    trade: str,
    city: str,
    description: str,
    email: str | None = None,
) -> Producer:
    """Create or update a producer of the group. `email`, where the purchase order goes
    while the producer has no account: "" clears it, None leaves it as it is."""
    if not name.strip():
        raise ServiceError(_("A name is required."), field="name")
    if email is not None:
        email = normalise_email(email)
        if email and (not valid_email(email) or len(email) > 254):
            raise ServiceError(_("Enter a valid e-mail address."), field="order_email")
    if producer is None:
        producer = Producer(created_in_group_id=group.id)
        session.add(producer)
    producer.name, producer.trade, producer.city = name.strip(), trade.strip(), city.strip()
    producer.description = description.strip()
    if email is not None:
        producer.email = email or None
    session.flush()
    return producer


def save_catalogue(
    session: Session,
    group: Group,
    catalogue: Catalogue | None,
    *,
    producer: Producer,
    name: str,
    description: str,
    producer_can_edit: bool | None = None,
) -> Catalogue:
    """Create or update a catalogue; `producer_can_edit` lets its producer change its products."""
    if not name.strip():
        raise ServiceError(_("A name is required."), field="name")
    if catalogue is None:
        catalogue = Catalogue(group_id=group.id, kind="variable")
        session.add(catalogue)
    catalogue.producer_id, catalogue.name = producer.id, name.strip()
    catalogue.description = description.strip()
    if producer_can_edit is not None:
        catalogue.producer_can_edit = producer_can_edit
    session.flush()
    return catalogue


def archive(session: Session, obj, *, now: datetime) -> None:
    """Archive a producer, catalogue or product: hidden from new cycles, kept in history."""
    obj.archived_at = now
    session.flush()


@dataclass
class ProductInput:
    name: str
    description: str
    unit: str
    quantity_per_unit: Decimal
    price_cents: int
    vat_rate: Decimal
    stock: Decimal | None
    active: bool
    weighed: bool


def check_product(group: Group, data: ProductInput) -> dict[str, str]:
    """Field errors of a product, translated; empty when it can be saved."""
    errors = {}
    if not data.name.strip():
        errors["name"] = _("A name is required.")
    if data.unit not in UNITS:
        errors["unit"] = _("Unknown unit.")
    if data.price_cents < 0:
        errors["price"] = _("A price cannot be negative.")
    rates = {str(Decimal(r).normalize()) for r in group.vat_rates}
    if not data.vat_rate.is_finite() or str(data.vat_rate.normalize()) not in rates:
        errors["vat_rate"] = _("Choose one of the group's VAT rates.")
    if data.quantity_per_unit <= 0:
        errors["quantity_per_unit"] = _("Must be more than zero.")
    if data.stock is not None and data.stock < 0:
        errors["stock"] = _("A stock cannot be negative.")
    return errors


def save_product(
    session: Session,
    group: Group,
    catalogue: Catalogue,
    product: Product | None,
    data: ProductInput,
) -> Product:
    errors = check_product(group, data)
    if errors:
        field, message = next(iter(errors.items()))
        raise ServiceError(message, field=field)
    if product is None:
        product = Product(catalogue_id=catalogue.id)
        session.add(product)
    for name in (
        "description",
        "unit",
        "quantity_per_unit",
        "price_cents",
        "vat_rate",
        "stock",
        "active",
        "weighed",
    ):
        setattr(product, name, getattr(data, name))
    product.name = data.name.strip()
    session.flush()
    return product


def set_active(session: Session, catalogue: Catalogue, product_ids: list[int], active: bool) -> int:
    """Switch many products of a catalogue on or off; return how many changed."""
    result = session.execute(
        update(Product)
        .where(
            Product.catalogue_id == catalogue.id,
            Product.id.in_(product_ids),
            Product.active.is_not(active),
        )
        .values(active=active)
    )
    session.flush()
    return result.rowcount


def duplicate_catalogue(session: Session, catalogue: Catalogue, *, name: str) -> Catalogue:
    """Copy a catalogue and its live products (stock left unlimited)."""
    copy = Catalogue(
        group_id=catalogue.group_id,
        producer_id=catalogue.producer_id,
        name=name,
        kind=catalogue.kind,
        description=catalogue.description,
    )
    session.add(copy)
    session.flush()
    for p in catalogue.products:
        if p.archived_at is None:
            session.add(
                Product(
                    catalogue_id=copy.id,
                    name=p.name,
                    description=p.description,
                    unit=p.unit,
                    quantity_per_unit=p.quantity_per_unit,
                    weighed=p.weighed,
                    price_cents=p.price_cents,
                    vat_rate=p.vat_rate,
                    photo=p.photo,
                    active=p.active,
                )
            )
    session.flush()
    return copy


def save_photo(folder: Path, data: bytes) -> str:
    """Check, re-encode (metadata stripped) and thumbnail an uploaded photo; return its name.

    The name is a hash of the re-encoded image, so the file can be cached for a year.
    """
    if len(data) > MAX_PHOTO_BYTES:
        raise ServiceError(_("The photo is too large (5 MB at most)."), field="photo", status=413)
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in ("JPEG", "PNG", "WEBP"):
                raise ServiceError(_("Send a JPEG, PNG or WebP photo."), field="photo")
            if probe.width * probe.height > MAX_PHOTO_PIXELS:
                raise ServiceError(_("The photo has too many pixels."), field="photo")
            image = ImageOps.exif_transpose(probe)
            image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise ServiceError(_("This file is not an image we can read."), field="photo") from error
    image = image.convert("RGB")
    image.thumbnail((PHOTO_SIZE, PHOTO_SIZE))
    out = io.BytesIO()
    image.save(out, "WEBP", quality=82)  # a fresh file: no EXIF, no GPS, no ICC surprises
    digest = hashlib.sha256(out.getvalue()).hexdigest()[:20]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{digest}.webp").write_bytes(out.getvalue())
    thumb = image.copy()
    thumb.thumbnail((THUMB_SIZE, THUMB_SIZE))
    thumb_out = io.BytesIO()
    thumb.save(thumb_out, "WEBP", quality=80)
    (folder / f"{digest}-thumb.webp").write_bytes(thumb_out.getvalue())
    return f"{digest}.webp"


def products_by_ids(session: Session, catalogue: Catalogue, ids: list[int]) -> list[Product]:
    return list(
        session.scalars(
            select(Product).where(Product.catalogue_id == catalogue.id, Product.id.in_(ids))
        )
    )


# ---- catalogue managers ("référents"): members given one or more catalogues ---------------


def managers_of(session: Session, catalogue: Catalogue) -> list[Membership]:
    """The members who manage a catalogue, by name."""
    return list(
        session.scalars(
            select(Membership)
            .join(CatalogueManager, CatalogueManager.membership_id == Membership.id)
            .join(User, User.id == Membership.user_id)
            .where(CatalogueManager.catalogue_id == catalogue.id)
            .options(selectinload(Membership.user))
            .order_by(User.last_name, User.first_name)
        )
    )


def add_manager(session: Session, catalogue: Catalogue, membership_id: int | None) -> Membership:
    """Give a member of the catalogue's group this catalogue to manage (once)."""
    membership = session.get(Membership, membership_id) if membership_id else None
    if membership is None or membership.group_id != catalogue.group_id:
        raise ServiceError(_("Choose a member of the group."), field="membership_id")
    if session.get(CatalogueManager, (membership.id, catalogue.id)) is None:
        session.add(CatalogueManager(membership_id=membership.id, catalogue_id=catalogue.id))
        session.flush()
    return membership


def remove_manager(session: Session, catalogue: Catalogue, membership_id: int) -> None:
    """Take a catalogue back from a member (nothing happens when they did not manage it)."""
    row = session.get(CatalogueManager, (membership_id, catalogue.id))
    if row is not None:
        session.delete(row)
        session.flush()


def managed_by(session: Session, membership: Membership) -> list[Catalogue]:
    """The live catalogues a member manages in their group."""
    return list(
        session.scalars(
            select(Catalogue)
            .join(CatalogueManager, CatalogueManager.catalogue_id == Catalogue.id)
            .where(
                CatalogueManager.membership_id == membership.id,
                Catalogue.archived_at.is_(None),
            )
            .options(selectinload(Catalogue.producer), selectinload(Catalogue.products))
            .order_by(Catalogue.name)
        )
    )


def remove_unavailable_of_catalogue(
    session: Session,
    distribution: Distribution,
    catalogue: Catalogue,
    *,
    actor: User,
    now: datetime,
) -> list[OrderLine]:
    """Set one catalogue's lines of unavailable products to zero, keeping what was ordered.

    What its manager may do: `reports.remove_unavailable` for one catalogue. Which products
    are unavailable at this distribution is read from `reports.day_orders`, so both follow
    the same rule. Validated baskets keep their lines.
    """
    from . import reports

    if catalogue not in distribution.catalogues:
        raise ServiceError(_("This catalogue is not part of this distribution."), status=404)
    cycle_rules.check(Action.REMOVE_UNAVAILABLE, distribution, now)
    day = reports.day_orders(session, distribution, catalogue_id=catalogue.id)
    ids = [li.id for o in day for li in o.lines if li.quantity > 0 and not li.product.active]
    lines = session.scalars(
        select(OrderLine)
        .join(Basket)
        .where(OrderLine.id.in_(ids), OrderLine.quantity > 0, Basket.validated_at.is_(None))
        .options(
            selectinload(OrderLine.basket).selectinload(Basket.user),
            selectinload(OrderLine.product),
        )
        .order_by(OrderLine.id)
    ).all()
    for line in lines:
        audit.record(
            session,
            group_id=distribution.group_id,
            actor=actor,
            action="remove_unavailable",
            now=now,
            distribution_id=distribution.id,
            member_id=line.basket.user_id,
            target=line.product.name,
            before={"quantity": line.quantity},
            after={"quantity": Decimal(0)},
        )
        line.ordered_quantity = line.quantity
        line.quantity = Decimal(0)
        line.removed_at = now
        line.removed_by_id = actor.id
    session.flush()
    # A producer whose purchase order already left gets a corrected one, in this transaction.
    from .notify import queue_corrected_purchase_orders

    queue_corrected_purchase_orders(session, distribution, list(lines), now=now)
    return list(lines)
