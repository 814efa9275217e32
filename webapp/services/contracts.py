"""AMAP contracts: a member subscribes for a season to a fixed basket; it reaches the
same distribution days, sheets, tablet and ledger as the shop.

Design (one rule, everything else follows from it):

- A contract is a catalogue of kind 'constant' with a season (its distributions), the
  shares offered (product x fixed quantity, at the price written in the contract), a
  sign-up window, the absences allowed and the schedules the producer accepts. The shop
  does not list a contract catalogue (services/orders.py skips kind 'constant').
- Validating a subscription MATERIALISES it: for each of its dates, order lines in the
  member's basket (one `Basket` per member and distribution, as for the shop), marked
  with `OrderLine.subscription_id`. Every report (`reports.day_orders`,
  `product_summary`), the sign-in sheets, the tablet snapshot, validation and the
  ledger invariants (receipt = sheet due = ledger debit) then read them unchanged.
- Shared subscriptions: a partner takes every other date ('alternate') or half of each
  date's quantities ('split'), `domain.contracts.shares`; each pays for their own part.
- Money, as the contract says (`Contract.billing`):
  * 'upfront': the lines carry a price of 0 on the day, so the day's validation charges
    nothing for them; each person's part of the season's total is one 'order' debit in
    the ledger (no distribution) when the subscription is validated. An absence gives
    that date's value back as a 'correction' credit.
  * 'per_distribution': the lines carry the contract's price and each date's basket is
    charged by the ordinary validation of that day; nothing is written at sign-up. An
    absence deletes the lines, so nothing is charged.
  Either way a contract is never charged twice, and the schedule's cheques and
  transfers are 'payment' credits when received (cashed is the bank's side: a date on
  the instalment, no money moves in the ledger).
- An absence ('skip' policy) deletes that date's contract lines before the deadline
  (`absence_notice_days` before the close of orders): the basket is not prepared, not
  charged, and the producer's quantities drop. With the 'give' policy the lines stay
  (the basket is prepared and paid) and the absence names who takes it.
- An absence declared by mistake is withdrawn until the same deadline
  (`withdraw_absence`): the lines come back (made as at validation, never twice), an
  upfront credit is reversed by a new 'correction' debit, the absence row goes.
- Once a contract has subscribers, only changes that keep what they signed are accepted
  (`domain.contracts.changed_terms`); the terms of each subscription (lines, prices,
  dates, schedule) are copied into it anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from flask_babel import force_locale, format_datetime
from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..domain import contracts as rules
from ..domain.contracts import Action, Billing, ShareMode, SubscriptionState
from ..domain.cycle import Action as DayAction
from ..domain.cycle import Status
from ..domain.money import line_total_cents, whole
from ..models import (
    Basket,
    Catalogue,
    Distribution,
    Group,
    LedgerEntry,
    Membership,
    OrderLine,
    Product,
    User,
)
from ..models.contracts import (
    Contract,
    ContractAbsence,
    ContractItem,
    ContractPayment,
    Subscription,
    SubscriptionLine,
)
from . import ServiceError, audit, cycle_rules, outbox
from .baskets import get_or_create_basket
from .contract_texts import reason_text

METHODS = ("cheque", "transfer", "cash")
POLICIES = ("skip", "give")
_BEFORE_THE_DAY = {Status.SCHEDULED, Status.OPEN, Status.CLOSED}


def _refuse(reason: str | None, **kw) -> None:
    if reason is not None:
        raise ServiceError(reason_text(reason, **kw), status=409)


@dataclass
class ContractInput:
    name: str
    catalogue_id: int
    distribution_ids: list[int]
    items: dict[int, Decimal]  # product id -> quantity per distribution
    signup_opens_at: datetime
    signup_closes_at: datetime
    min_distributions: int = 1
    max_absences: int = 0
    absence_notice_days: int = 0
    absence_policy: str = "skip"
    billing: str = "upfront"
    instalments: str = "1"
    methods: str = "cheque"
    cheque_order: str = ""
    description: str = ""


def _check_input(session: Session, group: Group, data: ContractInput, now: datetime):
    """The catalogue and distributions of a new contract, or a ServiceError."""
    if not data.name.strip():
        raise ServiceError(_("Give the contract a name."), field="name")
    catalogue = session.get(Catalogue, data.catalogue_id)
    if catalogue is None or catalogue.group_id != group.id or catalogue.archived_at:
        raise ServiceError(_("Choose a catalogue of the group."), field="catalogue_id")
    shop_lines = session.scalar(
        select(OrderLine.id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(Product.catalogue_id == catalogue.id, OrderLine.subscription_id.is_(None))
        .limit(1)
    )
    if shop_lines is not None:
        raise ServiceError(
            _(
                "This catalogue already has shop orders: "
                "make a catalogue of its own for the contract."
            ),
            field="catalogue_id",
        )
    distributions = session.scalars(
        select(Distribution)
        .where(Distribution.id.in_(data.distribution_ids), Distribution.group_id == group.id)
        .order_by(Distribution.starts_at)
    ).all()
    if not distributions or len(distributions) != len(set(data.distribution_ids)):
        raise ServiceError(_("Choose the distributions of the season."), field="distributions")
    if any(d.status(now) not in _BEFORE_THE_DAY for d in distributions):
        raise ServiceError(
            _("A season is made of distributions still to come."), field="distributions"
        )
    if not 1 <= data.min_distributions <= len(distributions):
        raise ServiceError(
            _(
                "The minimum number of distributions is between 1 and the season's %(n)s.",
                n=len(distributions),
            ),
            field="min_distributions",
        )
    products = {p.id: p for p in catalogue.products if p.archived_at is None}
    if not data.items or any(pid not in products or q <= 0 for pid, q in data.items.items()):
        raise ServiceError(
            _("Offer at least one share of the catalogue's products."), field="items"
        )
    if not data.signup_opens_at < data.signup_closes_at:
        raise ServiceError(_("Sign-ups close after they open."), field="signup_closes_at")
    if not rules_instalments(data.instalments):
        raise ServiceError(_("Give the numbers of instalments, like 1,3,9."), field="instalments")
    methods = [m for m in data.methods.split(",") if m]
    if not methods or any(m not in METHODS for m in methods):
        raise ServiceError(_("Choose how the producer accepts payment."), field="methods")
    if data.absence_policy not in POLICIES or data.billing not in {b.value for b in Billing}:
        raise ServiceError(_("Choose one of the options offered."), field="billing")
    if data.max_absences < 0 or data.absence_notice_days < 0:
        raise ServiceError(
            _("A number of days or absences cannot be negative."), field="max_absences"
        )
    return catalogue, list(distributions), products


def rules_instalments(text: str) -> list[int]:
    """The instalment counts in "1,3,9"; empty when the text is not such a list."""
    parts = [p.strip() for p in text.split(",")]
    counts = [whole(p, max_digits=2) for p in parts]
    if not parts or not all(c is not None and 1 <= c <= 24 for c in counts):
        return []
    return sorted(set(counts))


def create_contract(
    session: Session, group: Group, data: ContractInput, *, actor: User, now: datetime
) -> Contract:
    """Make a contract of a catalogue, which becomes a contract catalogue ('constant')
    taking part in each distribution of the season."""
    catalogue, distributions, products = _check_input(session, group, data, now)
    catalogue.kind = "constant"
    contract = Contract(
        group_id=group.id,
        catalogue_id=catalogue.id,
        name=data.name.strip()[:120],
        description=data.description,
        signup_opens_at=data.signup_opens_at,
        signup_closes_at=data.signup_closes_at,
        min_distributions=data.min_distributions,
        max_absences=data.max_absences,
        absence_notice_days=data.absence_notice_days,
        absence_policy=data.absence_policy,
        billing=data.billing,
        instalments=",".join(str(n) for n in rules_instalments(data.instalments)),
        methods=data.methods,
        cheque_order=data.cheque_order.strip()[:120],
        created_at=now,
    )
    contract.distributions = distributions
    contract.items = [
        ContractItem(
            product_id=pid,
            quantity=quantity,
            unit_price_cents=products[pid].price_cents,
            vat_rate=products[pid].vat_rate,
        )
        for pid, quantity in sorted(data.items.items())
    ]
    for distribution in distributions:
        if catalogue not in distribution.catalogues:
            distribution.catalogues.append(catalogue)
    session.add(contract)
    session.flush()
    audit.record(
        session,
        group_id=group.id,
        actor=actor,
        action="contract_create",
        now=now,
        target=contract.name,
        after={"distributions": len(distributions)},
    )
    return contract


def terms_of(contract: Contract) -> dict:
    """The contract's signed terms, comparable with `domain.contracts.changed_terms`."""
    return {
        "billing": contract.billing,
        "items": sorted((i.product_id, i.quantity, i.unit_price_cents) for i in contract.items),
        "distributions": sorted(d.id for d in contract.distributions),
        "min_distributions": contract.min_distributions,
        "max_absences": contract.max_absences,
        "absence_notice_days": contract.absence_notice_days,
        "absence_policy": contract.absence_policy,
        "instalments": contract.instalments,
        "methods": contract.methods,
        "cheque_order": contract.cheque_order,
        "catalogue_id": contract.catalogue_id,
    }


EDITABLE = (
    "name",
    "description",
    "signup_opens_at",
    "signup_closes_at",
    "max_absences",
    "absence_notice_days",
    "cheque_order",
    "instalments",
    "methods",
    "billing",
    "min_distributions",
    "absence_policy",
)


def update_contract(
    session: Session, contract: Contract, changes: dict, *, actor: User, now: datetime
) -> Contract:
    """Change a contract; with subscribers, only in ways that keep their signed terms."""
    changes = {k: v for k, v in changes.items() if k in EDITABLE}
    if has_subscribers(session, contract):
        touched = rules.changed_terms(terms_of(contract), changes)
        if touched:
            raise ServiceError(
                _("This contract has subscribers: what they signed cannot change."), status=409
            )
    opens = changes.get("signup_opens_at", contract.signup_opens_at)
    closes = changes.get("signup_closes_at", contract.signup_closes_at)
    if not opens < closes:
        raise ServiceError(_("Sign-ups close after they open."), field="signup_closes_at")
    if "instalments" in changes and not rules_instalments(changes["instalments"]):
        raise ServiceError(_("Give the numbers of instalments, like 1,3,9."), field="instalments")
    if not str(changes.get("name", contract.name)).strip():
        raise ServiceError(_("Give the contract a name."), field="name")
    before = {k: _plain(getattr(contract, k)) for k in changes}
    for key, value in changes.items():
        setattr(contract, key, value)
    session.flush()
    audit.record(
        session,
        group_id=contract.group_id,
        actor=actor,
        action="contract_edit",
        now=now,
        target=contract.name,
        before=before,
        after={k: _plain(v) for k, v in changes.items()},
    )
    return contract


def _plain(value):
    """A value as the audit trail's JSON keeps it."""
    return value.isoformat() if isinstance(value, datetime) else value


def archive_contract(session: Session, contract: Contract, *, actor: User, now: datetime):
    """Close a contract to sign-ups for good; its subscriptions run to their end."""
    contract.archived_at = now
    session.flush()
    audit.record(
        session,
        group_id=contract.group_id,
        actor=actor,
        action="contract_archive",
        now=now,
        target=contract.name,
    )


def has_subscribers(session: Session, contract: Contract) -> bool:
    return (
        session.scalar(
            select(Subscription.id)
            .where(Subscription.contract_id == contract.id, Subscription.state != "cancelled")
            .limit(1)
        )
        is not None
    )


# --- subscriptions -------------------------------------------------------------------


def coming_dates(contract: Contract, now: datetime) -> list[Distribution]:
    """The season's dates a new subscription can still start with (orders not closed)."""
    return [d for d in contract.distributions if d.status(now) in {Status.SCHEDULED, Status.OPEN}]


def per_date(subscription: Subscription) -> list[tuple[Distribution, dict[int, Decimal]]]:
    """Each date with the factor of the quantities each person takes (user id -> factor)."""
    dates = subscription.distributions
    factors = rules.shares(
        ShareMode(subscription.share_mode), len(dates), partner=subscription.partner_id is not None
    )
    result = []
    for distribution, (holder, partner) in zip(dates, factors, strict=True):
        people = {subscription.user_id: holder}
        if subscription.partner_id is not None:
            people[subscription.partner_id] = partner
        result.append((distribution, {uid: f for uid, f in people.items() if f > 0}))
    return result


def date_value(subscription: Subscription, factor: Decimal) -> int:
    """What one person's basket of one date is worth at the contract's prices."""
    return sum(
        line_total_cents(line.quantity * factor, line.unit_price_cents)
        for line in subscription.lines
    )


def totals(subscription: Subscription) -> dict[int, int]:
    """Each person's part of the season's total, in cents (the signed terms)."""
    result: dict[int, int] = {}
    for _d, people in per_date(subscription):
        for uid, factor in people.items():
            result[uid] = result.get(uid, 0) + date_value(subscription, factor)
    return result


@dataclass
class SignUp:
    counts: dict[int, int]  # contract item id -> how many of it per date
    dates: int  # number of distributions
    instalments: int
    method: str
    partner: User | None = None
    share_mode: str = "alone"


def _in_group(session: Session, group_id: int, user: User) -> bool:
    return (
        session.scalar(
            select(Membership.id).where(
                Membership.group_id == group_id, Membership.user_id == user.id
            )
        )
        is not None
    )


def _taken(session: Session, contract: Contract, user_ids: list[int]) -> bool:
    return (
        session.scalar(
            select(Subscription.id)
            .where(
                Subscription.contract_id == contract.id,
                Subscription.state != "cancelled",
                Subscription.user_id.in_(user_ids) | Subscription.partner_id.in_(user_ids),
            )
            .limit(1)
        )
        is not None
    )


def sign_up(
    session: Session,
    contract: Contract,
    member: User,
    choice: SignUp,
    *,
    actor: User,
    now: datetime,
) -> Subscription:
    """Subscribe a member (and maybe a partner) for a number of the season's dates; the
    subscription waits for a coordinator's validation, its schedule already made."""
    _refuse(rules.sign_up_refusal(contract.state(now)), contract=contract)
    items = {i.id: i for i in contract.items}
    counts = {iid: n for iid, n in choice.counts.items() if n}
    if not counts or any(iid not in items or not 0 < n <= 10 for iid, n in counts.items()):
        raise ServiceError(_("Choose at least one share."), field="items")
    coming = coming_dates(contract, now)
    if not contract.min_distributions <= choice.dates <= len(coming):
        raise ServiceError(
            _(
                "Choose between %(low)s and %(high)s distributions.",
                low=contract.min_distributions,
                high=len(coming),
            ),
            field="dates",
        )
    if choice.instalments not in contract.instalment_choices:
        raise ServiceError(
            _("Choose one of the schedules the producer accepts."), field="instalments"
        )
    if choice.method not in contract.method_choices:
        raise ServiceError(
            _("Choose one of the payment methods the producer accepts."), field="method"
        )
    partner = choice.partner
    mode = choice.share_mode if partner is not None else "alone"
    if mode not in {m.value for m in ShareMode} or (partner is not None and mode == "alone"):
        raise ServiceError(_("Choose how you share the basket."), field="share_mode")
    if partner is not None and (
        partner.id == member.id or not _in_group(session, contract.group_id, partner)
    ):
        raise ServiceError(_("Share with another member of the group."), field="partner")
    if _taken(session, contract, [member.id] + ([partner.id] if partner else [])):
        raise ServiceError(_("Already subscribed to this contract."), status=409)
    subscription = Subscription(
        contract_id=contract.id,
        user_id=member.id,
        partner_id=partner.id if partner else None,
        share_mode=mode,
        state="pending",
        instalments=choice.instalments,
        method=choice.method,
        created_at=now,
    )
    subscription.contract = contract
    subscription.distributions = coming[: choice.dates]
    subscription.lines = [
        SubscriptionLine(
            product_id=items[iid].product_id,
            quantity=items[iid].quantity * n,
            unit_price_cents=items[iid].unit_price_cents,
            vat_rate=items[iid].vat_rate,
        )
        for iid, n in sorted(counts.items())
    ]
    session.add(subscription)
    session.flush()
    _make_schedule(session, subscription)
    audit.record(
        session,
        group_id=contract.group_id,
        actor=actor,
        action="contract_sign_up",
        now=now,
        member_id=member.id,
        target=contract.name,
        after={"dates": choice.dates, "totals": totals(subscription)},
    )
    return subscription


def _make_schedule(session: Session, subscription: Subscription) -> None:
    """Instalments for each person, adding up to their part, due over their dates."""
    days = [d.starts_at.date() for d in subscription.distributions]
    for uid, total in sorted(totals(subscription).items()):
        if total <= 0:
            continue
        count = min(subscription.instalments, total)
        due = rules.due_dates(days, count)
        for amount, due_on in zip(rules.split(total, count), due, strict=True):
            session.add(
                ContractPayment(
                    subscription_id=subscription.id,
                    payer_id=uid,
                    due_on=due_on,
                    amount_cents=amount,
                    method=subscription.method,
                )
            )
    session.flush()
    session.expire(subscription, ["payments"])


def cancel_subscription(
    session: Session, subscription: Subscription, *, actor: User, now: datetime
) -> None:
    """Withdraw a subscription not validated yet; its schedule goes with it."""
    _refuse(rules.refusal(Action.CANCEL, subscription.status))
    if any(p.received_at for p in subscription.payments):
        raise ServiceError(_("A payment was received: give it back first."), status=409)
    session.execute(
        delete(ContractPayment).where(ContractPayment.subscription_id == subscription.id)
    )
    subscription.state = "cancelled"
    subscription.cancelled_at = now
    session.flush()
    audit.record(
        session,
        group_id=subscription.contract.group_id,
        actor=actor,
        action="contract_cancel",
        now=now,
        member_id=subscription.user_id,
        target=subscription.contract.name,
    )


def validate_subscription(
    session: Session, subscription: Subscription, *, actor: User, now: datetime
) -> None:
    """Put the subscription's baskets in its distributions and, paid upfront, its total
    in the ledger."""
    _refuse(rules.refusal(Action.VALIDATE, subscription.status))
    contract = subscription.contract
    if any(d.status(now) not in _BEFORE_THE_DAY for d in subscription.distributions):
        raise ServiceError(
            _("A date of this subscription already took place: cancel it and sign up again."),
            status=409,
        )
    upfront = contract.billing == Billing.UPFRONT
    absent = {
        (a.distribution_id, a.user_id)
        for a in subscription.absences
        if contract.absence_policy == "skip"
    }
    for distribution, people in per_date(subscription):
        for uid, factor in people.items():
            if (distribution.id, uid) not in absent:
                _put_lines(session, subscription, distribution, uid, factor, upfront, now)
    if upfront:
        for uid, total in sorted(totals(subscription).items()):
            if total:
                session.add(
                    _entry(
                        contract,
                        uid,
                        "order",
                        -total,
                        _("Contract %(name)s", name=contract.name),
                        actor,
                        now,
                    )
                )
        # Absences declared while pending: their dates were never charged, nor credited.
        for a in subscription.absences:
            if contract.absence_policy == "skip":
                session.add(_absence_credit(subscription, a.distribution, a.user_id, actor, now))
    subscription.state = "validated"
    subscription.validated_at = now
    subscription.validated_by_id = actor.id
    session.flush()
    audit.record(
        session,
        group_id=contract.group_id,
        actor=actor,
        action="contract_validate",
        now=now,
        member_id=subscription.user_id,
        target=contract.name,
        after={"totals": totals(subscription)},
    )
    _tell_validated(session, subscription, now)


def _put_lines(session, subscription, distribution, uid, factor, upfront, now) -> None:
    user = session.get(User, uid)
    basket = get_or_create_basket(session, distribution, user, now=now)
    cycle_rules.check(DayAction.CHANGE_BASKET, distribution, now, basket=basket)
    existing = set(
        session.scalars(select(OrderLine.product_id).where(OrderLine.basket_id == basket.id))
    )
    for line in subscription.lines:
        if line.product_id in existing:
            raise ServiceError(
                _(
                    "%(name)s already has %(product)s on %(day)s.",
                    name=user.name,
                    product=line.product.name,
                    day=distribution.starts_at.date().isoformat(),
                ),
                status=409,
            )
        session.add(
            OrderLine(
                basket_id=basket.id,
                product_id=line.product_id,
                quantity=line.quantity * factor,
                unit_price_cents=0 if upfront else line.unit_price_cents,
                vat_rate=line.vat_rate,
                updated_at=now,
                subscription_id=subscription.id,
            )
        )


def _entry(contract, uid, kind, amount, note, actor, now, method=None) -> LedgerEntry:
    return LedgerEntry(
        group_id=contract.group_id,
        user_id=uid,
        kind=kind,
        amount_cents=amount,
        payment_method=method,
        pending=False,
        note=note[:250],
        created_by_id=actor.id,
        created_at=now,
    )


def _absence_credit(subscription, distribution, uid, actor, now) -> LedgerEntry:
    factor = next(people[uid] for d, people in per_date(subscription) if d.id == distribution.id)
    return _entry(
        subscription.contract,
        uid,
        "correction",
        date_value(subscription, factor),
        _(
            "Absence on %(day)s, contract %(name)s",
            day=distribution.starts_at.date().isoformat(),
            name=subscription.contract.name,
        ),
        actor,
        now,
    )


def _tell_validated(session: Session, subscription: Subscription, now: datetime) -> None:
    for person in filter(None, [subscription.user, subscription.partner]):
        with force_locale(person.locale or "fr"):
            outbox.queue(
                session,
                kind="contract_validated",
                ref=f"subscription-{subscription.id}",
                title=_(
                    "Your subscription to %(name)s is validated", name=subscription.contract.name
                ),
                body=_(
                    "Your baskets are in the distributions of the season; your contract "
                    "can be printed from its page."
                ),
                url=f"/contracts/subscriptions/{subscription.id}",
                user=person,
                group_id=subscription.contract.group_id,
                now=now,
            )


# --- absences ------------------------------------------------------------------------


def declare_absence(
    session: Session,
    subscription: Subscription,
    distribution: Distribution,
    *,
    member: User,
    given_to: str = "",
    actor: User,
    now: datetime,
) -> ContractAbsence:
    """Miss one date: the basket is not prepared nor charged (or, when the contract says
    so, given to someone named); the producer's quantities drop."""
    _refuse(rules.refusal(Action.DECLARE_ABSENCE, subscription.status))
    contract = subscription.contract
    people = dict((d.id, p) for d, p in per_date(subscription)).get(distribution.id, {})
    used = [a for a in subscription.absences if a.user_id == member.id]
    deadline = rules.absence_deadline(distribution.orders_close_at, contract.absence_notice_days)
    _refuse(
        rules.absence_refusal(
            rules.AbsenceCase(
                now=now,
                deadline=deadline,
                on_a_date_of_theirs=member.id in people,
                already_absent=any(a.distribution_id == distribution.id for a in used),
                used=len(used),
                allowed=contract.max_absences,
            )
        ),
        deadline=deadline,
        allowed=contract.max_absences,
    )
    given_to = given_to.strip()[:120]
    if contract.absence_policy == "give" and not given_to:
        raise ServiceError(
            _("Say who takes your basket (a name, or the solidarity basket)."), field="given_to"
        )
    if contract.absence_policy == "skip" and subscription.state == "validated":
        basket = session.scalar(
            select(Basket).where(
                Basket.distribution_id == distribution.id, Basket.user_id == member.id
            )
        )
        if basket is not None:
            cycle_rules.check(DayAction.CHANGE_BASKET, distribution, now, basket=basket)
            session.execute(
                delete(OrderLine).where(
                    OrderLine.basket_id == basket.id, OrderLine.subscription_id == subscription.id
                )
            )
        if contract.billing == Billing.UPFRONT:
            session.add(_absence_credit(subscription, distribution, member.id, actor, now))
    absence = ContractAbsence(
        subscription_id=subscription.id,
        distribution_id=distribution.id,
        user_id=member.id,
        given_to=given_to,
        created_at=now,
    )
    session.add(absence)
    session.flush()
    session.expire(subscription, ["absences"])
    audit.record(
        session,
        group_id=contract.group_id,
        actor=actor,
        action="contract_absence",
        now=now,
        distribution_id=distribution.id,
        member_id=member.id,
        target=contract.name,
        after={"given_to": given_to},
    )
    return absence


def _withdrawal_text(reason: str, deadline: datetime) -> str:
    if reason == "not_absent":
        return _("No absence is declared on that day (it may already be withdrawn).")
    return _(
        "Absences for that day could be withdrawn until %(when)s.",
        when=format_datetime(deadline, "EEEE d MMMM, HH:mm"),
    )


def withdraw_absence(
    session: Session,
    subscription: Subscription,
    distribution: Distribution,
    *,
    member: User,
    actor: User,
    now: datetime,
) -> None:
    """Undo `declare_absence`, until the same deadline: with the 'skip' policy on a
    validated subscription the date's contract lines come back in the basket (made by
    `_put_lines`, as at validation) and, paid upfront, the absence's credit is reversed by
    a new debit (the ledger is append-only). The absence row goes: one row per date and
    member is what `declare_absence` counts (used, already absent) and the unique key
    lets the date be declared again; the audit trail keeps that it existed."""
    _refuse(rules.refusal(Action.DECLARE_ABSENCE, subscription.status))
    contract = subscription.contract
    absence = next(
        (
            a
            for a in subscription.absences
            if a.distribution_id == distribution.id and a.user_id == member.id
        ),
        None,
    )
    deadline = rules.absence_deadline(distribution.orders_close_at, contract.absence_notice_days)
    reason = rules.withdrawal_refusal(
        rules.WithdrawalCase(now=now, deadline=deadline, absent=absence is not None)
    )
    if reason is not None:
        raise ServiceError(_withdrawal_text(reason, deadline), status=409)
    # Deleted first, by id: of two withdrawals at once (the member and a coordinator) the
    # second finds no row (on PostgreSQL it waits for the first's lock) and is refused.
    gone = session.execute(delete(ContractAbsence).where(ContractAbsence.id == absence.id))
    if gone.rowcount != 1:
        raise ServiceError(_withdrawal_text("not_absent", deadline), status=409)
    given_to = absence.given_to
    session.expunge(absence)
    if contract.absence_policy == "skip" and subscription.state == "validated":
        factor = dict((d.id, p) for d, p in per_date(subscription))[distribution.id][member.id]
        upfront = contract.billing == Billing.UPFRONT
        _put_lines(session, subscription, distribution, member.id, factor, upfront, now)
        if upfront:
            # The credit `_absence_credit` wrote (at declaring, or at validation for an
            # absence declared while pending), to the cent: the same terms, the same factor.
            session.add(
                _entry(
                    contract,
                    member.id,
                    "correction",
                    -date_value(subscription, factor),
                    _(
                        "Absence withdrawn on %(day)s, contract %(name)s",
                        day=distribution.starts_at.date().isoformat(),
                        name=contract.name,
                    ),
                    actor,
                    now,
                )
            )
    session.flush()
    session.expire(subscription, ["absences"])
    audit.record(
        session,
        group_id=contract.group_id,
        actor=actor,
        action="contract_absence_withdraw",
        now=now,
        distribution_id=distribution.id,
        member_id=member.id,
        target=contract.name,
        before={"given_to": given_to},
    )


def takers(session: Session, distribution: Distribution, orders) -> dict[int, str]:
    """Who takes a basket given away ('give' policy) on that day: member id -> the names
    they gave, for the members whose row on this sheet carries that subscription's lines.
    `orders`: `reports.day_orders` rows or `Basket`s (a `user` and `lines`)."""
    given = {
        (uid, sid): name
        for uid, sid, name in session.execute(
            select(
                ContractAbsence.user_id, ContractAbsence.subscription_id, ContractAbsence.given_to
            )
            .join(Subscription, Subscription.id == ContractAbsence.subscription_id)
            .join(Contract, Contract.id == Subscription.contract_id)
            .where(
                ContractAbsence.distribution_id == distribution.id,
                ContractAbsence.given_to != "",
                Contract.absence_policy == "give",
                Subscription.state == "validated",
            )
        )
    }
    result: dict[int, str] = {}
    if not given:
        return result
    for order in orders:
        subscriptions = sorted(
            {
                line.subscription_id
                for line in order.lines
                if line.subscription_id is not None and line.quantity > 0
            }
        )
        names = [
            given[(order.user.id, sid)] for sid in subscriptions if (order.user.id, sid) in given
        ]
        if names:
            result[order.user.id] = ", ".join(names)
    return result


# --- payments ------------------------------------------------------------------------


@dataclass
class Instalment:
    payer_id: int
    due_on: date
    amount_cents: int
    method: str


def set_schedule(
    session: Session,
    subscription: Subscription,
    rows: list[Instalment],
    *,
    actor: User,
    now: datetime,
) -> None:
    """Replace the instalments not received yet; each person's must add up to their part."""
    _refuse(rules.refusal(Action.EDIT_SCHEDULE, subscription.status))
    kept = [p for p in subscription.payments if p.received_at is not None]
    people = totals(subscription)
    if any(r.payer_id not in people for r in rows) or any(
        r.method not in subscription.contract.method_choices for r in rows
    ):
        raise ServiceError(_("Choose one of the options offered."), field="schedule")
    for uid, total in people.items():
        amounts = [p.amount_cents for p in kept if p.payer_id == uid]
        amounts += [r.amount_cents for r in rows if r.payer_id == uid]
        _refuse(rules.schedule_refusal(total, amounts), total=total, amounts=amounts)
    session.execute(
        delete(ContractPayment).where(
            ContractPayment.subscription_id == subscription.id,
            ContractPayment.received_at.is_(None),
        )
    )
    for r in rows:
        session.add(
            ContractPayment(
                subscription_id=subscription.id,
                payer_id=r.payer_id,
                due_on=r.due_on,
                amount_cents=r.amount_cents,
                method=r.method,
            )
        )
    session.flush()
    session.expire(subscription, ["payments"])
    audit.record(
        session,
        group_id=subscription.contract.group_id,
        actor=actor,
        action="contract_schedule",
        now=now,
        member_id=subscription.user_id,
        target=subscription.contract.name,
        after={"amounts": [r.amount_cents for r in rows]},
    )


def receive_payment(
    session: Session,
    payment: ContractPayment,
    *,
    cheque_number: str = "",
    actor: User,
    now: datetime,
) -> LedgerEntry:
    """Record an instalment as received: a payment credit in the payer's ledger."""
    subscription = payment.subscription
    _refuse(rules.refusal(Action.RECORD_PAYMENT, subscription.status))
    if payment.received_at is not None:
        raise ServiceError(_("This payment is already received."), status=409)
    cheque_number = cheque_number.strip()[:40]
    if payment.method == "cheque" and not cheque_number:
        raise ServiceError(_("Write the cheque's number."), field="cheque_number")
    label = _("Contract %(name)s", name=subscription.contract.name)
    if cheque_number:
        label += " · " + _("cheque no. %(number)s", number=cheque_number)
    entry = _entry(
        subscription.contract,
        payment.payer_id,
        "payment",
        payment.amount_cents,
        label,
        actor,
        now,
        method=payment.method,
    )
    session.add(entry)
    session.flush()
    payment.received_at = now
    payment.cheque_number = cheque_number
    payment.ledger_entry_id = entry.id
    session.flush()
    audit.record(
        session,
        group_id=subscription.contract.group_id,
        actor=actor,
        action="contract_payment",
        now=now,
        member_id=payment.payer_id,
        target=label,
        after={"amount_cents": payment.amount_cents},
    )
    return entry


def cash_payment(session: Session, payment: ContractPayment, *, actor: User, now: datetime) -> None:
    """Mark a received cheque or transfer as cashed by the producer (no money moves)."""
    if payment.received_at is None:
        raise ServiceError(_("Record the payment as received first."), status=409)
    if payment.cashed_at is not None:
        raise ServiceError(_("This payment is already cashed."), status=409)
    payment.cashed_at = now
    session.flush()
    audit.record(
        session,
        group_id=payment.subscription.contract.group_id,
        actor=actor,
        action="contract_cashed",
        now=now,
        member_id=payment.payer_id,
        target=payment.subscription.contract.name,
    )


def subscription_state(subscription: Subscription) -> SubscriptionState:
    return SubscriptionState(subscription.state)
