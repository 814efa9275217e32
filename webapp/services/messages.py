"""Messages to members: a coordinator (or a catalogue manager, to their catalogues'
buyers) writes to a list; each recipient gets an e-mail (and a push where they turned it
on) through the outbox, and reads the message in the app.

Text only: what people write is stored as typed and escaped wherever it is shown.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from ..models import (
    Basket,
    Catalogue,
    CatalogueManager,
    Distribution,
    DutyAssignment,
    Group,
    Membership,
    Message,
    MessageRecipient,
    OrderLine,
    OutboxMessage,
    Producer,
    Product,
    PushSubscription,
    User,
)
from . import Forbidden, NotFound, ServiceError, outbox
from . import memberships as membership_rules
from .sheet import balances

SUBJECT_MAX = 150
BODY_MAX = 5000
KIND = "group_message"
PUSH_KIND = "group_message_push"
NEEDS_REF = ("distribution", "producer", "catalogue", "duty")


def managed_catalogue_ids(session: Session, membership: Membership | None) -> set[int]:
    """The catalogues this membership manages (Cagette's "référent")."""
    if membership is None:
        return set()
    return set(
        session.scalars(
            select(CatalogueManager.catalogue_id).where(
                CatalogueManager.membership_id == membership.id
            )
        )
    )


def may_write(session: Session, membership: Membership | None) -> bool:
    """Coordinators write to any list; catalogue managers to their catalogues' buyers."""
    if membership is None:
        return False
    return membership.is_coordinator or bool(managed_catalogue_ids(session, membership))


def check_audience(session: Session, membership: Membership, audience: str, ref) -> None:
    """Refuse a list this person may not write to."""
    if membership.is_coordinator:
        return
    if audience == "catalogue" and ref in managed_catalogue_ids(session, membership):
        return
    raise Forbidden(_("You may write only to the buyers of the catalogues you manage."))


def _members(group_id: int):
    return select(Membership.user_id).where(Membership.group_id == group_id)


def _buyers(group_id: int, *conditions):
    return (
        select(Basket.user_id)
        .join(OrderLine, OrderLine.basket_id == Basket.id)
        .join(Distribution, Distribution.id == Basket.distribution_id)
        .where(Distribution.group_id == group_id, OrderLine.quantity > 0, *conditions)
    )


def _in_group(session: Session, model, ref, group: Group):
    row = session.get(model, ref) if isinstance(ref, int) else None
    if row is None or row.group_id != group.id:
        raise ServiceError(_("Choose who the message is for."), field="audience")
    return row


def _producer_in_group(session: Session, ref, group: Group) -> Producer:
    producer = session.get(Producer, ref) if isinstance(ref, int) else None
    used = producer is not None and session.scalar(
        select(Catalogue.id).where(
            Catalogue.producer_id == producer.id, Catalogue.group_id == group.id
        )
    )
    if not used:
        raise ServiceError(_("Choose who the message is for."), field="audience")
    return producer


def audience_ids(
    session: Session, group: Group, audience: str, ref, *, now: datetime
) -> tuple[str, list[int]]:
    """The list's label and the ids of the group's members on it."""
    if audience == "all":
        label, ids = _("All members"), _members(group.id)
    elif audience == "distribution":
        d = _in_group(session, Distribution, ref, group)
        label = _("Who ordered for %(day)s", day=format_date(d.starts_at, "long"))
        ids = _buyers(group.id, Basket.distribution_id == d.id)
    elif audience == "duty":
        d = _in_group(session, Distribution, ref, group)
        label = _("On duty on %(day)s", day=format_date(d.starts_at, "long"))
        ids = select(DutyAssignment.user_id).where(DutyAssignment.distribution_id == d.id)
    elif audience == "producer":
        p = _producer_in_group(session, ref, group)
        label = _("Who ordered from %(producer)s", producer=p.name)
        ids = _buyers(
            group.id,
            OrderLine.product_id.in_(
                select(Product.id)
                .join(Catalogue, Catalogue.id == Product.catalogue_id)
                .where(Catalogue.producer_id == p.id, Catalogue.group_id == group.id)
            ),
        )
    elif audience == "catalogue":
        c = _in_group(session, Catalogue, ref, group)
        label = _("Who ordered from %(catalogue)s", catalogue=c.name)
        ids = _buyers(
            group.id,
            OrderLine.product_id.in_(select(Product.id).where(Product.catalogue_id == c.id)),
        )
    elif audience == "in_debt":
        members = list(session.scalars(_members(group.id)))
        owed = balances(session, group.id, members)
        return _("Members whose balance is below zero"), sorted(
            u for u, cents in owed.items() if cents < 0
        )
    elif audience == "unpaid":
        unpaid = membership_rules.unpaid_members(session, group, now)
        return _("Members whose membership is not paid"), sorted(m.user_id for m in unpaid)
    else:
        raise ServiceError(_("Choose who the message is for."), field="audience")
    found = session.scalars(
        select(Membership.user_id)
        .where(Membership.group_id == group.id, Membership.user_id.in_(ids))
        .distinct()
    )
    return label, sorted(found)


def _check_text(subject: str, body: str) -> tuple[str, str]:
    subject, body = (subject or "").strip(), (body or "").replace("\r\n", "\n").strip()
    if not subject:
        raise ServiceError(_("Write a subject."), field="subject")
    if len(subject) > SUBJECT_MAX:
        raise ServiceError(
            _("The subject is too long (%(max)d characters at most).", max=SUBJECT_MAX),
            field="subject",
        )
    if not body:
        raise ServiceError(_("Write the message."), field="body")
    if len(body) > BODY_MAX:
        raise ServiceError(
            _(
                "The message is too long: %(count)d characters, %(max)d at most.",
                count=len(body),
                max=BODY_MAX,
            ),
            field="body",
        )
    return subject, body


def send_message(
    session: Session,
    group: Group,
    *,
    audience: str,
    ref: int | None,
    subject: str,
    body: str,
    actor: User,
    membership: Membership,
    now: datetime,
) -> Message:
    """Write a message to a list of members and queue it for each of them."""
    subject, body = _check_text(subject, body)
    if audience in NEEDS_REF and ref is None:
        raise ServiceError(_("Choose who the message is for."), field="audience")
    check_audience(session, membership, audience, ref)
    label, user_ids = audience_ids(session, group, audience, ref, now=now)
    if not user_ids:
        raise ServiceError(_("Nobody is on this list: the message was not sent."), field="audience")
    message = Message(
        group_id=group.id,
        author_id=actor.id,
        audience=audience,
        audience_ref=ref if audience in NEEDS_REF else None,
        audience_label=label[:200],
        subject=subject,
        body=body,
        recipients_count=len(user_ids),
        created_at=now,
    )
    session.add(message)
    session.flush()
    session.add_all(MessageRecipient(message_id=message.id, user_id=u) for u in user_ids)
    _queue(session, group, message, actor, user_ids, now=now)
    session.flush()
    return message


def _queue(session, group, message, actor, user_ids, *, now) -> None:
    """One e-mail per recipient, and a push to those who turned it on."""
    with_push = set(
        session.scalars(
            select(PushSubscription.user_id).where(PushSubscription.user_id.in_(user_ids))
        )
    )
    users = session.scalars(select(User).where(User.id.in_(user_ids))).all()
    url = f"/messages/{message.id}"
    ref = f"message:{message.id}"
    for user in users:
        with force_locale(user.locale or group.locale or "fr"):
            footer = _(
                "Written by %(author)s to %(list)s (%(group)s).",
                author=actor.name,
                list=message.audience_label,
                group=group.name,
            )
        text = f"{message.body}\n\n--\n{footer}"
        title = f"[{group.name}] {message.subject}"
        common = dict(ref=ref, title=title, url=url, user=user, group_id=group.id, now=now)
        outbox.queue(session, kind=KIND, body=text, channel="email", **common)
        if user.id in with_push:
            outbox.queue(session, kind=PUSH_KIND, body=message.body, channel="push", **common)


def delivery_counts(session: Session, message_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per message: recipients reached (any channel sent), failed, still waiting."""
    refs = {f"message:{i}": i for i in message_ids}
    states: dict[tuple[int, int], set[str]] = {}
    rows = session.execute(
        select(OutboxMessage.ref, OutboxMessage.user_id, OutboxMessage.state).where(
            OutboxMessage.kind.in_((KIND, PUSH_KIND)), OutboxMessage.ref.in_(list(refs))
        )
    )
    for ref, user_id, state in rows:
        states.setdefault((refs[ref], user_id), set()).add(state)
    counts = {i: {"delivered": 0, "failed": 0, "waiting": 0} for i in message_ids}
    for (message_id, _user), seen in states.items():
        if "sent" in seen:
            counts[message_id]["delivered"] += 1
        elif seen & {"queued", "sending"}:
            counts[message_id]["waiting"] += 1
        else:
            counts[message_id]["failed"] += 1
    return counts


def sent_messages(session: Session, group: Group, membership: Membership) -> list[Message]:
    """The group's messages (a catalogue manager sees their own), newest first."""
    return list(session.scalars(sent_messages_query(group, membership)))


def sent_messages_query(group: Group, membership: Membership) -> Select:
    """The select of `sent_messages` (author loaded), for a page of it."""
    query = (
        select(Message).where(Message.group_id == group.id).options(selectinload(Message.author))
    )
    if not membership.is_coordinator:
        query = query.where(Message.author_id == membership.user_id)
    return query.order_by(Message.created_at.desc(), Message.id.desc())


def inbox(session: Session, group: Group, user: User) -> list[tuple[Message, datetime | None]]:
    """The messages this member received in the group, newest first, with when read."""
    return list(session.execute(inbox_query(group, user)))


def inbox_query(group: Group, user: User) -> Select:
    """The select of `inbox` (message, read_at; author loaded), for a page of it."""
    return (
        select(Message, MessageRecipient.read_at)
        .join(MessageRecipient, MessageRecipient.message_id == Message.id)
        .where(Message.group_id == group.id, MessageRecipient.user_id == user.id)
        .options(selectinload(Message.author))
        .order_by(Message.created_at.desc(), Message.id.desc())
    )


def unread_count_query(group: Group, user: User) -> Select:
    """The count of the member's messages in the group not read yet (the menu asks it
    with its other questions in one statement)."""
    return (
        select(func.count())
        .select_from(MessageRecipient)
        .join(Message, Message.id == MessageRecipient.message_id)
        .where(
            Message.group_id == group.id,
            MessageRecipient.user_id == user.id,
            MessageRecipient.read_at.is_(None),
        )
    )


def open_message(
    session: Session, group: Group, message_id: int, membership: Membership, *, now: datetime
) -> Message:
    """A message its recipient, its author or a coordinator reads; marks it read."""
    message = session.get(Message, message_id)
    if message is None or message.group_id != group.id:
        raise NotFound(_("This message does not exist."))
    receipt = session.get(MessageRecipient, (message.id, membership.user_id))
    if receipt is None and not (
        membership.is_coordinator or message.author_id == membership.user_id
    ):
        raise NotFound(_("This message does not exist."))
    if receipt is not None and receipt.read_at is None:
        receipt.read_at = now
        session.flush()
    return message
