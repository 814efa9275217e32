"""The contract tables and arithmetic (webapp.domain.contracts), cell by cell."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from webapp.domain.contracts import (
    ACTIONS,
    SIGN_UP,
    AbsenceCase,
    Action,
    ContractState,
    ShareMode,
    SubscriptionState,
    absence_deadline,
    absence_refusal,
    changed_terms,
    contract_state,
    due_dates,
    refusal,
    schedule_refusal,
    shares,
    sign_up_refusal,
    split,
)

T0 = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)


@dataclass
class C:
    signup_opens_at: datetime = T0
    signup_closes_at: datetime = T0 + 10 * D
    archived_at: datetime | None = None


@pytest.mark.parametrize(
    ("now", "archived", "expected"),
    [
        (T0 - H, None, ContractState.SIGNUP_NOT_OPEN),
        (T0, None, ContractState.SIGNUP_OPEN),  # opens at the instant
        (T0 + 10 * D - H, None, ContractState.SIGNUP_OPEN),
        (T0 + 10 * D, None, ContractState.SIGNUP_CLOSED),  # closes at the instant
        (T0 + 5 * D, T0, ContractState.ARCHIVED),  # archived wins over the clock
    ],
)
def test_contract_state_follows_the_clock(now, archived, expected):
    assert contract_state(C(archived_at=archived), now) is expected


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        (ContractState.SIGNUP_NOT_OPEN, "signup_not_open"),
        (ContractState.SIGNUP_OPEN, None),
        (ContractState.SIGNUP_CLOSED, "signup_closed"),
        (ContractState.ARCHIVED, "contract_archived"),
    ],
)
def test_sign_up_table(state, reason):
    assert sign_up_refusal(state) == reason


P, V, X = SubscriptionState.PENDING, SubscriptionState.VALIDATED, SubscriptionState.CANCELLED
CELLS = [
    (Action.VALIDATE, P, None),
    (Action.VALIDATE, V, "already_validated"),
    (Action.VALIDATE, X, "subscription_cancelled"),
    (Action.CANCEL, P, None),
    (Action.CANCEL, V, "validated_keeps_terms"),
    (Action.CANCEL, X, "subscription_cancelled"),
    (Action.DECLARE_ABSENCE, P, None),
    (Action.DECLARE_ABSENCE, V, None),
    (Action.DECLARE_ABSENCE, X, "subscription_cancelled"),
    (Action.RECORD_PAYMENT, P, None),
    (Action.RECORD_PAYMENT, V, None),
    (Action.RECORD_PAYMENT, X, "subscription_cancelled"),
    (Action.EDIT_SCHEDULE, P, None),
    (Action.EDIT_SCHEDULE, V, None),
    (Action.EDIT_SCHEDULE, X, "subscription_cancelled"),
]


@pytest.mark.parametrize(("action", "state", "reason"), CELLS)
def test_subscription_action_table_cell(action, state, reason):
    assert refusal(action, state) == reason


def test_the_tables_have_every_cell():
    assert {(a, s) for a, s, _ in CELLS} == {(a, s) for a in Action for s in SubscriptionState}
    assert set(ACTIONS) == set(Action)
    assert set(SIGN_UP) == set(ContractState)


ONE, HALF, ZERO = Decimal(1), Decimal("0.5"), Decimal(0)


@pytest.mark.parametrize(
    ("mode", "partner", "expected"),
    [
        (ShareMode.ALONE, False, [(ONE, ZERO)] * 3),
        (ShareMode.ALTERNATE, False, [(ONE, ZERO)] * 3),  # no partner: alone
        (ShareMode.ALTERNATE, True, [(ONE, ZERO), (ZERO, ONE), (ONE, ZERO)]),
        (ShareMode.SPLIT, True, [(HALF, HALF)] * 3),
    ],
)
def test_shares_per_date(mode, partner, expected):
    assert shares(mode, 3, partner=partner) == expected


@pytest.mark.parametrize(
    ("total", "n", "expected"),
    [
        (100, 1, [100]),
        (100, 3, [34, 33, 33]),
        (18000, 9, [2000] * 9),
        (2, 3, [1, 1, 0]),
    ],
)
def test_split_adds_up_to_the_cent(total, n, expected):
    assert split(total, n) == expected
    assert sum(split(total, n)) == total


def test_split_needs_an_instalment():
    with pytest.raises(ValueError):
        split(100, 0)


@pytest.mark.parametrize(
    ("total", "amounts", "reason"),
    [
        (100, [50, 50], None),
        (100, [50, 40], "schedule_not_total"),
        (100, [], "schedule_empty"),
        (100, [100, 0], "schedule_not_positive"),
        (100, [150, -50], "schedule_not_positive"),
    ],
)
def test_schedule_must_add_up(total, amounts, reason):
    assert schedule_refusal(total, amounts) == reason


def test_instalments_fall_due_over_the_dates():
    dates = [T0 + i * 7 * D for i in range(10)]
    assert due_dates(dates, 1) == [dates[0]]
    assert due_dates(dates, 3) == [dates[0], dates[3], dates[6]]


def test_absence_deadline_is_before_the_close():
    assert absence_deadline(T0, 0) == T0
    assert absence_deadline(T0, 2) == T0 - 2 * D


BASE = dict(
    now=T0 - H, deadline=T0, on_a_date_of_theirs=True, already_absent=False, used=0, allowed=2
)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({}, None),
        ({"now": T0 - timedelta(seconds=1)}, None),
        ({"now": T0}, "absence_too_late"),  # the deadline is the first instant refused
        ({"used": 1}, None),
        ({"used": 2}, "too_many_absences"),
        ({"allowed": 0}, "too_many_absences"),
        ({"already_absent": True}, "already_absent"),
        ({"on_a_date_of_theirs": False}, "not_a_date_of_theirs"),
    ],
)
def test_absence_rule(change, reason):
    assert absence_refusal(AbsenceCase(**{**BASE, **change})) == reason


TERMS = {"billing": "upfront", "max_absences": 2, "absence_notice_days": 2, "items": [1]}


@pytest.mark.parametrize(
    ("after", "touched"),
    [
        ({"name": "Légumes 2027"}, []),  # not a term
        ({"billing": "upfront"}, []),  # unchanged
        ({"billing": "per_distribution"}, ["billing"]),
        ({"items": [2]}, ["items"]),
        ({"max_absences": 3}, []),  # more generous: kept
        ({"max_absences": 1}, ["max_absences"]),
        ({"absence_notice_days": 1}, []),  # later deadline: more generous
        ({"absence_notice_days": 3}, ["absence_notice_days"]),
    ],
)
def test_changed_terms_keeps_what_was_signed(after, touched):
    assert changed_terms(TERMS, after) == touched


def test_domain_imports_neither_flask_nor_sqlalchemy():
    import webapp.domain.contracts as module

    imports = [
        line
        for line in open(module.__file__).read().splitlines()
        if line.startswith(("import ", "from "))
    ]
    assert not [line for line in imports if "flask" in line or "sqlalchemy" in line]
