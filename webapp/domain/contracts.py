"""AMAP contracts: a season's subscription to a fixed basket.

    contract:      signup_not_open --(signup_opens_at)--> signup_open
                   --(signup_closes_at)--> signup_closed;   any --(archive)--> archived
    subscription:  pending --(validate)--> validated
                   pending --(cancel)--> cancelled

What may happen in which state is two tables in the style of `webapp.domain.cycle`:
`SIGN_UP` (contract state -> allowed, or the reason refused) and `ACTIONS` (action x
subscription state). The rest is arithmetic on the signed terms: who takes the basket on
each date of a shared subscription (`shares`), the instalments of a schedule (`split`,
`schedule_refusal`), the absence rules (`absence_refusal`, `withdrawal_refusal`) and which
changes of a contract would touch what its subscribers signed (`changed_terms`).

Pure: no flask, no sqlalchemy; time is a parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

OK = None


class ContractState(StrEnum):
    SIGNUP_NOT_OPEN = "signup_not_open"
    SIGNUP_OPEN = "signup_open"
    SIGNUP_CLOSED = "signup_closed"
    ARCHIVED = "archived"


class SubscriptionState(StrEnum):
    PENDING = "pending"
    VALIDATED = "validated"
    CANCELLED = "cancelled"


class ShareMode(StrEnum):
    ALONE = "alone"
    ALTERNATE = "alternate"  # the holder on the 1st, 3rd... date, the partner on the others
    SPLIT = "split"  # half the quantities each, every date


class Billing(StrEnum):
    UPFRONT = "upfront"  # the season's total debited when the subscription is validated
    PER_DISTRIBUTION = "per_distribution"  # each date's basket charged at its validation


class Action(StrEnum):
    VALIDATE = "validate"
    CANCEL = "cancel"
    DECLARE_ABSENCE = "declare_absence"
    RECORD_PAYMENT = "record_payment"
    EDIT_SCHEDULE = "edit_schedule"


class Window(Protocol):
    signup_opens_at: datetime
    signup_closes_at: datetime
    archived_at: datetime | None


def contract_state(contract: Window, now: datetime) -> ContractState:
    """Return the state of a contract's sign-up at `now` (archived wins over the clock)."""
    if contract.archived_at is not None:
        return ContractState.ARCHIVED
    if now < contract.signup_opens_at:
        return ContractState.SIGNUP_NOT_OPEN
    if now < contract.signup_closes_at:
        return ContractState.SIGNUP_OPEN
    return ContractState.SIGNUP_CLOSED


_C = ContractState
SIGN_UP: dict[ContractState, str | None] = {
    _C.SIGNUP_NOT_OPEN: "signup_not_open",
    _C.SIGNUP_OPEN: OK,
    _C.SIGNUP_CLOSED: "signup_closed",
    _C.ARCHIVED: "contract_archived",
}

_S = SubscriptionState
_CANCELLED = {_S.CANCELLED: "subscription_cancelled"}
ACTIONS: dict[Action, dict[SubscriptionState, str | None]] = {
    Action.VALIDATE: {_S.PENDING: OK, _S.VALIDATED: "already_validated", **_CANCELLED},
    # A validated subscription has its baskets in the distributions and maybe its total
    # in the ledger: it ends with the season (absences cover the dates a member misses).
    Action.CANCEL: {_S.PENDING: OK, _S.VALIDATED: "validated_keeps_terms", **_CANCELLED},
    Action.DECLARE_ABSENCE: {_S.PENDING: OK, _S.VALIDATED: OK, **_CANCELLED},
    Action.RECORD_PAYMENT: {_S.PENDING: OK, _S.VALIDATED: OK, **_CANCELLED},
    Action.EDIT_SCHEDULE: {_S.PENDING: OK, _S.VALIDATED: OK, **_CANCELLED},
}
assert all(set(row) == set(SubscriptionState) for row in ACTIONS.values())


def sign_up_refusal(state: ContractState) -> str | None:
    """Why a sign-up is refused in this contract state; None if allowed."""
    return SIGN_UP[state]


def refusal(action: Action, state: SubscriptionState) -> str | None:
    """Why `action` is refused for a subscription in `state`; None if allowed."""
    return ACTIONS[action][state]


HALF = Decimal("0.5")


def shares(mode: ShareMode, dates: int, *, partner: bool) -> list[tuple[Decimal, Decimal]]:
    """For each date, the factor of the quantities the holder and the partner take."""
    if not partner or mode == ShareMode.ALONE:
        return [(Decimal(1), Decimal(0))] * dates
    if mode == ShareMode.SPLIT:
        return [(HALF, HALF)] * dates
    return [
        (Decimal(1), Decimal(0)) if i % 2 == 0 else (Decimal(0), Decimal(1)) for i in range(dates)
    ]


def split(total_cents: int, instalments: int) -> list[int]:
    """Cut a total into instalments adding up to it to the cent; the first ones carry
    the remainder ("34 + 33 + 33")."""
    if instalments < 1:
        raise ValueError("at least one instalment")
    base, rest = divmod(total_cents, instalments)
    return [base + (1 if i < rest else 0) for i in range(instalments)]


def schedule_refusal(total_cents: int, amounts: list[int]) -> str | None:
    """Why a schedule cannot pay this total; None if it adds up."""
    if not amounts:
        return "schedule_empty"
    if any(a <= 0 for a in amounts):
        return "schedule_not_positive"
    if sum(amounts) != total_cents:
        return "schedule_not_total"
    return OK


def due_dates(dates: list[datetime], instalments: int) -> list[datetime]:
    """The date each instalment falls due: spread over the subscription's dates."""
    return [dates[i * len(dates) // instalments] for i in range(instalments)]


def absence_deadline(orders_close_at: datetime, notice_days: int) -> datetime:
    """The last moment to declare an absence: `notice_days` before the close of orders,
    so the producer's summary already counts it."""
    return orders_close_at - timedelta(days=notice_days)


@dataclass(frozen=True)
class AbsenceCase:
    now: datetime
    deadline: datetime
    on_a_date_of_theirs: bool  # the member takes a basket that day
    already_absent: bool
    used: int  # absences already declared by this member in this subscription
    allowed: int  # the contract's limit


def absence_refusal(case: AbsenceCase) -> str | None:
    """Why an absence cannot be declared; None if it can."""
    if not case.on_a_date_of_theirs:
        return "not_a_date_of_theirs"
    if case.already_absent:
        return "already_absent"
    if case.now >= case.deadline:
        return "absence_too_late"
    if case.used >= case.allowed:
        return "too_many_absences"
    return OK


@dataclass(frozen=True)
class WithdrawalCase:
    now: datetime
    deadline: datetime  # the same as for declaring (`absence_deadline`)
    absent: bool  # the member has an absence declared on that date


def withdrawal_refusal(case: WithdrawalCase) -> str | None:
    """Why an absence cannot be withdrawn; None if it can. Until the deadline to declare
    one, so the producer's summary counts the basket again. (The subscription's state is
    `ACTIONS[DECLARE_ABSENCE]`: absences change while it is pending or validated.)"""
    if not case.absent:
        return "not_absent"
    if case.now >= case.deadline:
        return "withdrawal_too_late"
    return OK


# What a subscriber signed: once a contract has subscribers, these stay as they are.
TERMS = (
    "billing",
    "items",
    "distributions",
    "min_distributions",
    "max_absences",
    "absence_notice_days",
    "absence_policy",
    "instalments",
    "methods",
    "cheque_order",
    "catalogue_id",
)


# Changes that only give subscribers more than they signed for stay allowed.
_MORE_GENEROUS = {
    "max_absences": lambda old, new: new >= old,
    "absence_notice_days": lambda old, new: new <= old,
}


def changed_terms(before: dict, after: dict) -> list[str]:
    """The signed terms a change would take away (empty: the change keeps them)."""
    changed = []
    for key in TERMS:
        if key not in after or after[key] == before.get(key):
            continue
        generous = _MORE_GENEROUS.get(key)
        if generous is None or not generous(before.get(key), after[key]):
            changed.append(key)
    return changed
