"""Groups: creating one, its own settings, members leaving, and the first steps."""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Callable
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from ..domain.money import AmountError, parse_rate, parse_whole_number
from ..models import (
    PAYMENT_METHODS,
    Catalogue,
    Distribution,
    DutyRole,
    Group,
    Invitation,
    Membership,
    Place,
    Product,
    User,
)
from . import ServiceError
from .accounts import add_membership

DEFAULT_PAYMENT_METHODS = ["cash", "cheque", "transfer"]
# French rates: food 5.5 %, restaurant-type and some farm products 10 %, the rest 20 %.
DEFAULT_VAT_RATES = ["5.5", "10", "20"]
LOCALES = ("fr", "en")


def _slug(session: Session, name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    base = re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:48] or "groupe"
    slug = base
    while session.scalar(select(Group.id).where(Group.slug == slug)):
        slug = f"{base}-{secrets.token_hex(3)}"
    return slug


def create_group(
    session: Session,
    *,
    name: str,
    place_name: str,
    place_address: str = "",
    payment_methods: list[str] | None = None,
    locale: str = "fr",
    coordinator: User | None,
    now: datetime,
) -> Group:
    """Create a usable group: its first place, payment methods, VAT rates, a join link,
    and its coordinator (None: the coordinator joins later by an invitation)."""
    if not name.strip():
        raise ServiceError(_("A name is required."), field="name")
    if not place_name.strip():
        raise ServiceError(_("Name the place of the distributions."), field="place_name")
    methods = [m for m in PAYMENT_METHODS if m in (payment_methods or DEFAULT_PAYMENT_METHODS)]
    if not methods:
        raise ServiceError(_("Choose at least one payment method."), field="payment_methods")
    if locale not in LOCALES:
        raise ServiceError(_("Unknown language."), field="locale")
    group = Group(
        name=name.strip()[:120],
        slug=_slug(session, name),
        timezone="Europe/Paris",
        payment_methods=methods,
        vat_rates=list(DEFAULT_VAT_RATES),
        locale=locale,
        join_token=secrets.token_urlsafe(18),
        created_at=now,
    )
    session.add(group)
    session.flush()
    session.add(
        Place(group_id=group.id, name=place_name.strip()[:120], address=place_address.strip()[:250])
    )
    if coordinator is not None:
        add_membership(session, coordinator, group, role="coordinator", now=now)
    session.flush()
    return group


def setup_steps(session: Session, group: Group) -> list[tuple[str, bool]]:
    """The first steps of a new group, each with whether it is done."""
    in_group = Catalogue.group_id == group.id
    has_catalogue = session.scalar(select(exists().where(in_group)))
    has_product = session.scalar(
        select(exists().where(Product.catalogue_id == Catalogue.id, in_group))
    )
    has_distribution = session.scalar(select(exists().where(Distribution.group_id == group.id)))
    members = session.scalar(
        select(func.count()).select_from(Membership).where(Membership.group_id == group.id)
    )
    invited = session.scalar(  # members invited; a producer's invitation is not one
        select(exists().where(Invitation.group_id == group.id, Invitation.producer_id.is_(None)))
    )
    # Without roles, no volunteer can sign up for a duty, nor so open the distribution sheet.
    has_duty_roles = session.scalar(select(exists().where(DutyRole.group_id == group.id)))
    return [
        ("catalogues", bool(has_catalogue)),
        ("products", bool(has_product)),
        ("distribution", bool(has_distribution)),
        ("duty_roles", bool(has_duty_roles)),
        ("members", members > 1 or bool(invited)),
    ]


def remove_member(
    session: Session,
    membership: Membership,
    *,
    actor: User,
    now: datetime,
    join_url: Callable[[str], str],
) -> None:
    """Take someone out of the group (their account and past records stay); a freed
    place goes to the waiting list. The last coordinator cannot go."""
    from .joining import offer_free_places

    group = membership.group
    if membership.is_coordinator:
        coordinators = session.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.group_id == group.id, Membership.role == "coordinator")
        )
        if coordinators <= 1:
            raise ServiceError(_("The group needs another coordinator before this one can leave."))
    session.delete(membership)
    session.flush()
    offer_free_places(session, group, actor=actor, now=now, join_url=join_url)


def _days(text: str, field: str, low: int, high: int) -> int:
    try:
        return parse_whole_number(text, low=low, high=high)
    except AmountError as error:
        raise ServiceError(
            _("Enter a number of days between %(low)d and %(high)d.", low=low, high=high),
            field=field,
        ) from error


def update_settings(
    session: Session,
    group: Group,
    *,
    name: str,
    payment_methods: list[str],
    vat_rates: str,
    sheet_instructions: str,
    duty_signup_days: str,
    duty_reminder_days: str,
    max_members: str | None = None,
    locale: str | None = None,
) -> Group:
    """Check every field, then save them all (nothing is half-saved)."""
    if not name.strip():
        raise ServiceError(_("A name is required."), field="name")
    methods = [m for m in PAYMENT_METHODS if m in payment_methods]
    if not methods:
        raise ServiceError(_("Choose at least one payment method."), field="payment_methods")
    try:
        rates = sorted({parse_rate(r) for r in (vat_rates or "").split(";") if r.strip()})
    except AmountError as error:
        raise ServiceError(_("VAT rates like 5,5 ; 20"), field="vat_rates") from error
    if not rates:
        raise ServiceError(_("VAT rates like 5,5 ; 20"), field="vat_rates")
    signup = _days(duty_signup_days, "duty_signup_days", 1, 365)
    reminder = _days(duty_reminder_days, "duty_reminder_days", 0, 30)
    limit = group.max_members if max_members is None else _limit(max_members)
    if locale is not None and locale not in LOCALES:
        raise ServiceError(_("Unknown language."), field="locale")
    group.name, group.payment_methods = name.strip(), methods
    group.vat_rates = [format(r.normalize(), "f") for r in rates]
    group.sheet_instructions = sheet_instructions.strip()[:2000]
    group.duty_signup_days, group.duty_reminder_days = signup, reminder
    group.max_members = limit
    group.locale = locale or group.locale
    session.flush()
    return group


def _limit(text: str) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return parse_whole_number(text, low=1, high=100_000)
    except AmountError as error:
        raise ServiceError(
            _("Enter a maximum number of members, or leave it empty for no limit."),
            field="max_members",
        ) from error
