"""A member's own data: everything held about them, and the erasure of their account.

Erasure keeps the money: baskets, order lines, ledger entries and tablet records stay,
attached to the same account id under an anonymous name, so every balance and report
adds up as before. Everything else personal (name, e-mail, phone, password, devices,
preferences, duties to come, messages received) is erased or deleted.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from flask_babel import force_locale, format_currency, format_date
from flask_babel import gettext as _
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from ..domain.memberships import period_label
from ..domain.money import Line, basket_total_cents, vat_breakdown
from ..models import (
    AccountErasure,
    AuditEntry,
    Basket,
    Distribution,
    DutyAssignment,
    DutyWithdrawal,
    FormSubmission,
    Group,
    Invitation,
    JoinRequest,
    LedgerEntry,
    LoginSession,
    Membership,
    MembershipFee,
    Message,
    MessageRecipient,
    NotificationLog,
    NotificationPreference,
    OrderLine,
    OutboxMessage,
    Producer,
    Product,
    PushSubscription,
    SheetEvent,
    User,
    UserToken,
)
from . import ServiceError, audit
from .sheet import balances

ERASED_DOMAIN = "erased.invalid"


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _qty(value: Decimal | None) -> str | None:
    return format(value.normalize(), "f") if value is not None else None


def collect(session: Session, user: User) -> dict[str, list[dict]]:
    """Everything the product holds about a person, table by table."""
    groups = {g.id: g.name for g in session.scalars(select(Group))}
    return {
        "profile": [
            {
                "id": user.id,
                "first_name": user.first_name,
                "last_name": user.last_name,
                "email": user.email,
                "phone": user.phone,
                "language": user.locale,
                "created_at": _iso(user.created_at),
            }
        ],
        "groups": _groups(session, user, groups),
        "membership_fees": _fees(session, user, groups),
        **_orders(session, user, groups),
        "ledger_entries": _ledger(session, user, groups),
        "duties": _duties(session, user, groups),
        "notifications_sent": _outbox(session, user),
        "messages_received": _messages(session, user, groups),
        "tablet_records": _tablet(session, user),
        "devices": [
            {"endpoint": s.endpoint, "created_at": _iso(s.created_at)}
            for s in session.scalars(
                select(PushSubscription).where(PushSubscription.user_id == user.id)
            )
        ],
        "notification_choices": [
            {"muted": ", ".join(p.muted or [])}
            for p in [session.get(NotificationPreference, user.id)]
            if p is not None
        ],
        "actions_on_my_account": [
            {
                "group": groups.get(a.group_id),
                "at": _iso(a.created_at),
                "action": a.action,
                "target": a.target,
                "before": a.before,
                "after": a.after,
            }
            for a in session.scalars(
                select(AuditEntry).where(AuditEntry.member_id == user.id).order_by(AuditEntry.id)
            )
        ],
    }


def _groups(session, user, groups) -> list[dict]:
    rows = session.scalars(select(Membership).where(Membership.user_id == user.id))
    return [
        {"group": groups.get(m.group_id), "role": m.role, "since": _iso(m.created_at)} for m in rows
    ]


def _fees(session, user, groups) -> list[dict]:
    rows = session.scalars(
        select(MembershipFee)
        .where(MembershipFee.user_id == user.id)
        .order_by(MembershipFee.period_start)
    )
    return [
        {
            "group": groups.get(f.group_id),
            "period": period_label(f.period_start),
            "amount_cents": f.amount_cents,
            "method": f.method,
            "paid_on": _iso(f.paid_on),
        }
        for f in rows
    ]


def _orders(session, user, groups) -> dict[str, list[dict]]:
    """Order lines one per row, and a receipt per basket (totals per VAT rate)."""
    rows = session.execute(
        select(Basket, Distribution, OrderLine, Product.name, Product.unit)
        .join(Distribution, Distribution.id == Basket.distribution_id)
        .join(OrderLine, OrderLine.basket_id == Basket.id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(Basket.user_id == user.id)
        .order_by(Distribution.starts_at, Basket.id, OrderLine.id)
    )
    lines, per_basket = [], {}
    for basket, distribution, line, name, unit in rows:
        day = _iso(distribution.starts_at)
        lines.append(
            {
                "group": groups.get(distribution.group_id),
                "distribution": day,
                "basket": basket.number,
                "product": name,
                "unit": unit,
                "quantity": _qty(line.quantity),
                "ordered_quantity": _qty(line.ordered_quantity),
                "unit_price_cents": line.unit_price_cents,
                "vat_rate": _qty(line.vat_rate),
                "total_cents": line.total_cents,
                "removed_at": _iso(line.removed_at),
            }
        )
        entry = per_basket.setdefault(basket.id, (basket, distribution, []))
        entry[2].append(Line(line.quantity, line.unit_price_cents, line.vat_rate))
    receipts = []
    for basket, distribution, basket_lines in per_basket.values():
        receipts.append(
            {
                "group": groups.get(distribution.group_id),
                "distribution": _iso(distribution.starts_at),
                "basket": basket.number,
                "total_cents": basket_total_cents(basket_lines),
                "vat": "; ".join(
                    f"{_qty(r.rate)}%: {r.excl_cents} + {r.vat_cents} = {r.incl_cents}"
                    for r in vat_breakdown(basket_lines)
                ),
                "validated_at": _iso(basket.validated_at or distribution.validated_at),
            }
        )
    return {"order_lines": lines, "receipts": receipts}


def _ledger(session, user, groups) -> list[dict]:
    rows = session.scalars(
        select(LedgerEntry)
        .where(LedgerEntry.user_id == user.id)
        .order_by(LedgerEntry.created_at, LedgerEntry.id)
    )
    return [
        {
            "group": groups.get(e.group_id),
            "at": _iso(e.created_at),
            "kind": e.kind,
            "amount_cents": e.amount_cents,
            "method": e.payment_method,
            "pending": e.pending,
            "note": e.note,
        }
        for e in rows
    ]


def _duties(session, user, groups) -> list[dict]:
    rows = session.execute(
        select(DutyAssignment, Distribution)
        .join(Distribution, Distribution.id == DutyAssignment.distribution_id)
        .where(DutyAssignment.user_id == user.id)
        .order_by(Distribution.starts_at)
    )
    out = [
        {
            "group": groups.get(d.group_id),
            "distribution": _iso(d.starts_at),
            "role": a.role_name,
            "signed_up_at": _iso(a.created_at),
            "withdrew_because": None,
        }
        for a, d in rows
    ]
    withdrawals = session.execute(
        select(DutyWithdrawal, Distribution)
        .join(Distribution, Distribution.id == DutyWithdrawal.distribution_id)
        .where(DutyWithdrawal.user_id == user.id)
    )
    out += [
        {
            "group": groups.get(d.group_id),
            "distribution": _iso(d.starts_at),
            "role": w.role_name,
            "signed_up_at": None,
            "withdrew_because": w.reason,
        }
        for w, d in withdrawals
    ]
    return out


def _outbox(session, user) -> list[dict]:
    rows = session.scalars(
        select(OutboxMessage)
        .where(or_(OutboxMessage.user_id == user.id, OutboxMessage.email == user.email))
        .order_by(OutboxMessage.id)
    )
    return [
        {
            "at": _iso(m.created_at),
            "kind": m.kind,
            "channel": m.channel,
            "title": m.title,
            "body": m.body,
            "state": m.state,
            "sent_at": _iso(m.sent_at),
            "delivered_via": m.delivered_via,
        }
        for m in rows
    ]


def _messages(session, user, groups) -> list[dict]:
    rows = session.execute(
        select(Message, MessageRecipient.read_at)
        .join(MessageRecipient, MessageRecipient.message_id == Message.id)
        .where(MessageRecipient.user_id == user.id)
        .order_by(Message.id)
    )
    return [
        {
            "group": groups.get(m.group_id),
            "at": _iso(m.created_at),
            "subject": m.subject,
            "body": m.body,
            "read_at": _iso(read_at),
        }
        for m, read_at in rows
    ]


def _tablet(session, user) -> list[dict]:
    rows = session.execute(
        select(SheetEvent, Distribution.starts_at)
        .join(Basket, Basket.id == SheetEvent.basket_id)
        .join(Distribution, Distribution.id == SheetEvent.distribution_id)
        .where(Basket.user_id == user.id)
        .order_by(SheetEvent.seq)
    )
    return [
        {
            "distribution": _iso(starts_at),
            "kind": e.kind,
            "recorded_at": _iso(e.recorded_at),
            "received_at": _iso(e.received_at),
            "device": e.device_id,
            "late": e.late,
            "payload": e.payload,
        }
        for e, starts_at in rows
    ]


# ---- erasure ---------------------------------------------------------------------------


def is_erased(session: Session, user: User) -> bool:
    return session.get(AccountErasure, user.id) is not None


def erase_refusals(session: Session, user: User) -> list[str]:
    """Why this account cannot be erased yet (empty: it can)."""
    reasons = []
    for membership in session.scalars(select(Membership).where(Membership.user_id == user.id)):
        group = session.get(Group, membership.group_id)
        cents = balances(session, group.id, [user.id]).get(user.id, 0)
        if cents:
            amount = format_currency(Decimal(cents) / 100, "EUR")
            reasons.append(
                _(
                    "The balance in %(group)s is %(amount)s: it must be zero.",
                    group=group.name,
                    amount=amount,
                )
            )
        if membership.is_coordinator and not _other_coordinator(session, membership):
            reasons.append(
                _(
                    "This is the only coordinator of %(group)s: name another one first.",
                    group=group.name,
                )
            )
    open_days = session.scalars(
        select(Distribution.starts_at)
        .join(Basket, Basket.distribution_id == Distribution.id)
        .where(
            Basket.user_id == user.id,
            Basket.validated_at.is_(None),
            Distribution.validated_at.is_(None),
            Distribution.cancelled_at.is_(None),
            Basket.id.in_(select(OrderLine.basket_id).where(OrderLine.quantity > 0)),
        )
        .order_by(Distribution.starts_at)
    ).all()
    for starts_at in open_days:
        reasons.append(
            _("The basket of %(day)s is not validated yet.", day=format_date(starts_at, "long"))
        )
    return reasons


def _other_coordinator(session: Session, membership: Membership) -> bool:
    return (
        session.scalar(
            select(Membership.id)
            .where(
                Membership.group_id == membership.group_id,
                Membership.role == "coordinator",
                Membership.user_id != membership.user_id,
            )
            .limit(1)
        )
        is not None
    )


def erase_account(
    session: Session, user: User, *, asked_by: str, actor: User, now: datetime
) -> None:
    """Erase a person's personal data; their money records stay, under an anonymous name.

    `asked_by` is "self" (from their account) or "paper" (a coordinator acting on a
    request made in person or by post).
    """
    if is_erased(session, user):
        raise ServiceError(_("This account is already deleted."), status=409)
    reasons = erase_refusals(session, user)
    if reasons:
        raise ServiceError(
            _("The account cannot be deleted yet.") + " " + " ".join(reasons), status=409
        )
    group_ids = list(
        session.scalars(select(Membership.group_id).where(Membership.user_id == user.id))
    )
    first_group = session.get(Group, group_ids[0]) if group_ids else None
    with force_locale((first_group.locale if first_group else None) or "fr"):
        anonymous = _("Former member %(number)d", number=user.id)
    old_email = user.email
    _delete_personal_rows(session, user, old_email, now)
    user.first_name, user.last_name = "", anonymous
    user.email = f"erased-{user.id}@{ERASED_DOMAIN}"
    user.phone, user.locale, user.password_hash = "", None, None
    user.session_version = (user.session_version or 0) + 1
    session.add(
        AccountErasure(user_id=user.id, asked_by=asked_by, erased_by_id=actor.id, erased_at=now)
    )
    for group_id in group_ids:
        audit.record(
            session,
            group_id=group_id,
            actor=actor,
            action="account_erased",
            member_id=user.id,
            target=anonymous,
            now=now,
            after={"asked_by": asked_by},
        )
    session.flush()


def _delete_personal_rows(session: Session, user: User, email: str, now: datetime) -> None:
    uid = user.id
    future = select(Distribution.id).where(Distribution.starts_at > now)
    for statement in (
        delete(Membership).where(Membership.user_id == uid),
        delete(PushSubscription).where(PushSubscription.user_id == uid),
        delete(NotificationPreference).where(NotificationPreference.user_id == uid),
        delete(NotificationLog).where(NotificationLog.user_id == uid),
        delete(UserToken).where(UserToken.user_id == uid),
        delete(LoginSession).where(LoginSession.user_id == uid),
        delete(FormSubmission).where(FormSubmission.user_id == uid),
        delete(DutyWithdrawal).where(DutyWithdrawal.user_id == uid),
        delete(DutyAssignment).where(
            DutyAssignment.user_id == uid, DutyAssignment.distribution_id.in_(future)
        ),
        delete(MessageRecipient).where(MessageRecipient.user_id == uid),
        delete(JoinRequest).where(JoinRequest.email == email),
        delete(Invitation).where(Invitation.email == email),
        # Nothing more leaves for this person; what did leave keeps its state, not its text.
        delete(OutboxMessage).where(
            or_(OutboxMessage.user_id == uid, OutboxMessage.email == email),
            OutboxMessage.state.in_(("queued", "sending")),
        ),
        delete(OutboxMessage).where(OutboxMessage.user_id.is_(None), OutboxMessage.email == email),
        update(OutboxMessage)
        .where(OutboxMessage.user_id == uid)
        .values(title="", body="", url="", email=None, last_error=None),
        update(Producer).where(Producer.user_id == uid).values(user_id=None),
    ):
        session.execute(statement.execution_options(synchronize_session=False))
