"""Memberships: the group's rules, fees recorded into the ledger, who has not paid.

A fee paid is a `membership` debit plus a `payment` credit of the same amount (the debit
alone when paid from the balance), so a balance stays the sum of the member's entries.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain import memberships as rules
from ..domain.sheet import MAX_AMOUNT_CENTS
from ..models import (
    Group,
    LedgerEntry,
    Membership,
    MembershipFee,
    MembershipSettings,
    User,
)
from ..models.memberships import FEE_MODES, UNPAID_RULES
from . import ServiceError, audit


def settings_of(session: Session, group_id: int) -> MembershipSettings:
    """The group's rules; unsaved defaults (no fee, nothing happens) when never set."""
    found = session.get(MembershipSettings, group_id)
    if found is not None:
        return found
    return MembershipSettings(
        group_id=group_id, start_month=1, fee_mode="none", fee_cents=None, unpaid_rule="nothing"
    )


def save_settings(
    session: Session,
    group: Group,
    *,
    start_month: int,
    fee_mode: str,
    fee_cents: int | None,
    unpaid_rule: str,
    actor: User,
    now: datetime,
) -> MembershipSettings:
    """Set the period, the fee and what an unpaid membership does."""
    if start_month not in range(1, 13):
        raise ServiceError(_("Choose the month the membership year starts."), field="start_month")
    if fee_mode not in FEE_MODES:
        raise ServiceError(_("Choose a kind of fee."), field="fee_mode")
    if unpaid_rule not in UNPAID_RULES:
        raise ServiceError(_("Choose what an unpaid membership does."), field="unpaid_rule")
    if fee_mode == "none":
        fee_cents = None
    elif fee_cents is None or not 0 < fee_cents <= MAX_AMOUNT_CENTS:
        raise ServiceError(_("The fee must be an amount above zero."), field="fee")
    current = session.get(MembershipSettings, group.id)
    before = _settings_dict(current) if current else None
    if current is None:
        current = MembershipSettings(group_id=group.id)
        session.add(current)
    current.start_month, current.fee_mode = start_month, fee_mode
    current.fee_cents, current.unpaid_rule = fee_cents, unpaid_rule
    session.flush()
    audit.record(
        session,
        group_id=group.id,
        actor=actor,
        action="membership_settings",
        now=now,
        before=before,
        after=_settings_dict(current),
    )
    return current


def _settings_dict(s: MembershipSettings) -> dict:
    return {
        "start_month": s.start_month,
        "fee_mode": s.fee_mode,
        "fee_cents": s.fee_cents,
        "unpaid_rule": s.unpaid_rule,
    }


def local_day(group: Group, now: datetime) -> date:
    """Today in the group's time zone."""
    return now.astimezone(ZoneInfo(group.timezone or "Europe/Paris")).date()


def current_period(session: Session, group: Group, now: datetime) -> tuple[date, date]:
    """The membership period of today, in the group's time zone."""
    return rules.period_of(local_day(group, now), settings_of(session, group.id).start_month)


def _refusal_text(code: str) -> str:
    return {
        rules.NO_FEE: lambda: _("This group asks no membership fee."),
        rules.FEE_TOO_LOW: lambda: _("The amount is below the membership fee."),
        rules.FEE_NOT_FIXED: lambda: _("The membership fee is a fixed amount: enter it exactly."),
    }[code]()


def record_fee(
    session: Session,
    group: Group,
    member: User,
    *,
    amount_cents: int,
    method: str,
    paid_on: date,
    period_start: date | None = None,
    actor: User,
    now: datetime,
) -> MembershipFee:
    """Record a member's fee for a period, into the ledger like any payment."""
    settings = settings_of(session, group.id)
    refusal = rules.fee_refusal(settings.fee_mode, settings.fee_cents, amount_cents)
    if refusal:
        raise ServiceError(_refusal_text(refusal), field="amount")
    if amount_cents > MAX_AMOUNT_CENTS:
        raise ServiceError(_("The amount is too large."), field="amount")
    if method not in list(group.payment_methods) + ["balance"]:
        raise ServiceError(_("Choose one of the group's payment methods."), field="method")
    if paid_on > local_day(group, now):
        raise ServiceError(_("The date of payment cannot be in the future."), field="paid_on")
    if not _is_member(session, group.id, member.id):
        raise ServiceError(_("This person is not a member of the group."), status=404)
    today = rules.period_of(local_day(group, now), settings.start_month)
    start = period_start or today[0]
    if start not in (today[0], rules.next_period(today[0])[0]):
        raise ServiceError(_("Choose the current period or the next one."), field="period")
    if paid(session, group.id, member.id, start):
        raise ServiceError(
            _(
                "%(name)s has already paid for %(period)s.",
                name=member.name,
                period=rules.period_label(start),
            ),
            status=409,
        )
    note = _("Membership %(period)s", period=rules.period_label(start))
    debit = _entry(group, member, "membership", -amount_cents, None, note, actor, now)
    credit = None
    if method != "balance":
        credit = _entry(group, member, "payment", amount_cents, method, note, actor, now)
    session.add_all([e for e in (debit, credit) if e is not None])
    session.flush()
    fee = MembershipFee(
        group_id=group.id,
        user_id=member.id,
        period_start=start,
        amount_cents=amount_cents,
        method=method,
        paid_on=paid_on,
        debit_entry_id=debit.id,
        payment_entry_id=credit.id if credit else None,
        created_by_id=actor.id,
        created_at=now,
    )
    session.add(fee)
    session.flush()
    audit.record(
        session,
        group_id=group.id,
        actor=actor,
        action="membership_fee",
        member_id=member.id,
        target=note,
        now=now,
        after={"amount_cents": amount_cents, "method": method, "paid_on": paid_on.isoformat()},
    )
    return fee


def _entry(group, member, kind, amount, method, note, actor, now) -> LedgerEntry:
    return LedgerEntry(
        group_id=group.id,
        user_id=member.id,
        kind=kind,
        amount_cents=amount,
        payment_method=method,
        pending=False,
        note=note[:250],
        created_by_id=actor.id,
        created_at=now,
    )


def _is_member(session: Session, group_id: int, user_id: int) -> bool:
    return (
        session.scalar(
            select(Membership.id).where(
                Membership.group_id == group_id, Membership.user_id == user_id
            )
        )
        is not None
    )


def paid(session: Session, group_id: int, user_id: int, period_start: date) -> bool:
    """Whether the member's fee for the period is recorded."""
    return (
        session.scalar(
            select(MembershipFee.id).where(
                MembershipFee.group_id == group_id,
                MembershipFee.user_id == user_id,
                MembershipFee.period_start == period_start,
            )
        )
        is not None
    )


def fees_of(session: Session, group_id: int, user_id: int) -> list[MembershipFee]:
    """A member's fees in the group, newest period first."""
    return list(
        session.scalars(
            select(MembershipFee)
            .where(MembershipFee.group_id == group_id, MembershipFee.user_id == user_id)
            .order_by(MembershipFee.period_start.desc())
        )
    )


def unpaid_members(session: Session, group: Group, now: datetime) -> list[Membership]:
    """Members without a fee for the current period (none when the group asks no fee)."""
    settings = settings_of(session, group.id)
    if settings.fee_mode == "none":
        return []
    start, _end = current_period(session, group, now)
    paid_ids = select(MembershipFee.user_id).where(
        MembershipFee.group_id == group.id, MembershipFee.period_start == start
    )
    return list(
        session.scalars(
            select(Membership)
            .join(User, User.id == Membership.user_id)
            .where(Membership.group_id == group.id, Membership.user_id.not_in(paid_ids))
            .order_by(func.lower(User.last_name), func.lower(User.first_name))
        )
    )


def unpaid_notice(session: Session, group_id: int, user: User, *, now: datetime) -> str | None:
    """What the shop tells a member whose fee is not paid, when the group asks it."""
    group = session.get(Group, group_id)
    settings = settings_of(session, group_id)
    if group is None or settings.fee_mode == "none" or settings.unpaid_rule == "nothing":
        return None
    start, _end = current_period(session, group, now)
    if paid(session, group_id, user.id, start):
        return None
    period = rules.period_label(start)
    if settings.unpaid_rule == "block":
        return _(
            "Your membership for %(period)s is not paid: you can order once it is.", period=period
        )
    return _("Your membership for %(period)s is not paid yet.", period=period)


def check_may_order(session: Session, group_id: int, user: User, *, now: datetime) -> None:
    """Refuse a member's order when the group wants the membership paid first."""
    if settings_of(session, group_id).unpaid_rule != "block":
        return
    notice = unpaid_notice(session, group_id, user, now=now)
    if notice:
        raise ServiceError(notice, status=409)
