"""Producers with their own account: invited by a group, one account for every group.

A producer is a record per group (`Producer.created_in_group_id`): each group keeps its
own name, description and catalogues for the farm. One account gathers them: every
producer record whose `user_id` is the account's is the same person. A coordinator invites
the producer of their group by e-mail; accepting links that group's record to the account
(an existing one when the address has an account already). The producer then sees every
catalogue of every record, in every group, on one page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..domain.cycle import Status
from ..models import (
    Catalogue,
    Distribution,
    Group,
    Invitation,
    Producer,
    User,
    distribution_catalogues,
)
from . import ServiceError, reports
from .accounts import find_user_by_email, new_invitation, normalise_email, valid_email
from .outbox import queue

PAST_SHOWN = timedelta(days=14)  # distributions over for less than this stay on the overview


def producers_of_user(session: Session, user: User) -> list[Producer]:
    """Every producer record linked to this account, in every group."""
    return list(
        session.scalars(select(Producer).where(Producer.user_id == user.id).order_by(Producer.name))
    )


def pending_invitation(session: Session, producer: Producer, *, now: datetime):
    """The producer's open invitation, if any."""
    return session.scalar(
        select(Invitation)
        .where(
            Invitation.producer_id == producer.id,
            Invitation.accepted_at.is_(None),
            Invitation.expires_at > now,
        )
        .order_by(Invitation.created_at.desc())
        .limit(1)
    )


def invite_producer(
    session: Session,
    group: Group,
    producer: Producer,
    *,
    email: str,
    actor: User,
    now: datetime,
    join_url: Callable[[str], str],
) -> Invitation:
    """Invite a producer of the group to their producer page; queue the e-mail."""
    if producer.created_in_group_id != group.id:
        # Another group's record, used here through a catalogue: that group invites.
        raise ServiceError(
            _("Only the group that added this producer can invite them."), status=403
        )
    if producer.user_id is not None:
        raise ServiceError(_("This producer already has an account."), field="email")
    email = normalise_email(email)
    if not valid_email(email):
        raise ServiceError(_("Enter a valid e-mail address."), field="email")
    invitation, token = new_invitation(group, email=email, role="member", actor=actor, now=now)
    invitation.producer_id = producer.id
    session.add(invitation)
    session.flush()
    link = join_url(token)
    known = find_user_by_email(session, email)
    with force_locale((known.locale if known else None) or group.locale or "fr"):
        title = _("Your producer page for %(group)s", group=group.name)
        body = "\n\n".join(
            [
                _(
                    "%(name)s invites %(producer)s to their producer page on Court-circuit: "
                    "the orders of %(group)s, and your catalogues there.",
                    name=actor.name,
                    producer=producer.name,
                    group=group.name,
                ),
                _("Open this link to create your account, or to add it to yours:"),
                link,
                _("The link is valid for 14 days."),
            ]
        )
    queue(
        session,
        kind="invitation",
        ref=str(invitation.id),
        title=title,
        body=body,
        url=urlsplit(link).path,
        email=email,
        group_id=group.id,
        channel="email",
        now=now,
    )
    return invitation


def link_account(session: Session, invitation: Invitation, user: User) -> Producer:
    """Accepting a producer's invitation: the group's producer record becomes this account's."""
    producer = session.get(Producer, invitation.producer_id)
    if producer is None or producer.archived_at is not None:
        raise ServiceError(_("This producer is no longer in the group."), status=410)
    if producer.user_id is not None and producer.user_id != user.id:
        raise ServiceError(_("This producer already has an account."), field="email")
    producer.user_id = user.id
    session.flush()
    return producer


# ---- what the producer sees --------------------------------------------------------------


@dataclass
class DayOfCatalogue:
    """One catalogue of the producer at one distribution: its state and what was ordered."""

    distribution: Distribution
    catalogue: Catalogue
    group: Group
    status: Status
    baskets: int
    summary: reports.CatalogueSummary

    @property
    def total_cents(self) -> int:
        return self.summary.total_cents


def catalogues_of_user(session: Session, user: User) -> list[Catalogue]:
    """The live catalogues of every producer record of this account."""
    return list(
        session.scalars(
            select(Catalogue)
            .join(Producer, Producer.id == Catalogue.producer_id)
            .where(Producer.user_id == user.id, Catalogue.archived_at.is_(None))
            .options(selectinload(Catalogue.producer), selectinload(Catalogue.products))
            .order_by(Catalogue.group_id, Catalogue.name)
        )
    )


def day_of_catalogue(
    session: Session, distribution: Distribution, catalogue: Catalogue, *, now: datetime
) -> DayOfCatalogue:
    """The orders of one catalogue at one distribution, summed up."""
    state = distribution.status(now)
    # Before orders open there is nothing to read: a group planning a year ahead costs
    # the overview no query per far-off distribution.
    orders = (
        []
        if state == Status.SCHEDULED
        else reports.day_orders(session, distribution, catalogue_id=catalogue.id)
    )
    (summary,) = reports.product_summary(orders, [catalogue])
    return DayOfCatalogue(
        distribution,
        catalogue,
        session.get(Group, catalogue.group_id),
        state,
        len(orders),
        summary,
    )


def _days(session: Session, catalogues: dict[int, Catalogue], now: datetime) -> list:
    if not catalogues:
        return []
    pairs = session.execute(
        select(Distribution, distribution_catalogues.c.catalogue_id)
        .join(distribution_catalogues)
        .where(
            distribution_catalogues.c.catalogue_id.in_(catalogues),
            Distribution.cancelled_at.is_(None),
            Distribution.ends_at > now - PAST_SHOWN,
        )
        .options(selectinload(Distribution.place))
        .order_by(Distribution.starts_at, distribution_catalogues.c.catalogue_id)
    ).all()
    return [day_of_catalogue(session, d, catalogues[cid], now=now) for d, cid in pairs]


def overview(session: Session, user: User, *, now: datetime) -> list[DayOfCatalogue]:
    """Every coming (and recent) distribution of the producer's catalogues, soonest first."""
    return _days(session, {c.id: c for c in catalogues_of_user(session, user)}, now)


def overview_of_catalogue(
    session: Session, catalogue: Catalogue, *, now: datetime
) -> list[DayOfCatalogue]:
    """Every coming (and recent) distribution of one catalogue, soonest first."""
    return _days(session, {catalogue.id: catalogue}, now)


# ---- the purchase order sent when orders close ------------------------------------------


def orders_of_catalogues(
    session: Session, distribution: Distribution, catalogue_ids: set[int]
) -> list[reports.MemberOrder]:
    """The day's orders cut down to the lines of some catalogues (orders left empty go)."""
    if len(catalogue_ids) == 1:
        return reports.day_orders(session, distribution, catalogue_id=next(iter(catalogue_ids)))
    cut = [
        reports.MemberOrder(
            o.basket, o.user, [li for li in o.lines if li.product.catalogue_id in catalogue_ids]
        )
        for o in reports.day_orders(session, distribution)
    ]
    return [o for o in cut if any(li.quantity > 0 for li in o.lines)]


def purchase_order(
    session: Session, distribution: Distribution, producer: Producer
) -> tuple[list[reports.MemberOrder], list[reports.CatalogueSummary]]:
    """The producer's orders and product summaries for one distribution (all their
    catalogues taking part)."""
    catalogues = [c for c in distribution.catalogues if c.producer_id == producer.id]
    orders = orders_of_catalogues(session, distribution, {c.id for c in catalogues})
    return orders, reports.product_summary(orders, catalogues)


def summary_rows(
    summaries: list[reports.CatalogueSummary], cents, qty, unit=lambda product: product.unit
) -> list[list]:
    """The product summary as spreadsheet rows (header first), one total per catalogue;
    `unit` names a product's unit for the reader (`web.csvs.unit`)."""
    rows = [
        [
            _("Producer"),
            _("Product"),
            _("Quantity"),
            _("Unit"),
            _("Unit price"),
            _("Total"),
            _("Contracts"),
            _("Orders"),
        ]
    ]
    for summary in summaries:
        name = summary.catalogue.producer.name
        for row in summary.rows:
            rows.append(
                [
                    name,
                    row.product.name,
                    qty(row.quantity),
                    unit(row.product),
                    cents(row.unit_price_cents),
                    cents(row.total_cents),
                    qty(row.contract_quantity),
                    qty(row.shop_quantity),
                ]
            )
        rows.append([name, _("Total"), "", "", "", cents(summary.total_cents), "", ""])
    return rows
