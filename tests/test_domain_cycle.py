from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from webapp.domain.cycle import ACTIONS, Action, Status, check_window, refusal, status

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)


@dataclass
class D:
    orders_open_at: datetime = T0
    orders_close_at: datetime = T0 + 10 * H
    starts_at: datetime = T0 + 20 * H
    ends_at: datetime = T0 + 22 * H
    validated_at: datetime | None = None
    cancelled_at: datetime | None = None


@pytest.mark.parametrize(
    ("now", "validated_at", "expected"),
    [
        (T0 - H, None, Status.SCHEDULED),
        (T0 - timedelta(microseconds=1), None, Status.SCHEDULED),
        (T0, None, Status.OPEN),  # opens at the instant
        (T0 + 9 * H, None, Status.OPEN),
        (T0 + 10 * H, None, Status.CLOSED),  # closes at the instant
        (T0 + 19 * H, None, Status.CLOSED),
        (T0 + 20 * H, None, Status.DISTRIBUTING),
        (T0 + 22 * H - timedelta(seconds=1), None, Status.DISTRIBUTING),
        (T0 + 22 * H, None, Status.DISTRIBUTED),
        (T0 + 100 * H, None, Status.DISTRIBUTED),
        (T0 + 100 * H, T0 + 23 * H, Status.VALIDATED),
        (T0 - H, T0 + 23 * H, Status.VALIDATED),  # stored state wins over the clock
    ],
)
def test_status_follows_the_clock(now, validated_at, expected):
    assert status(D(validated_at=validated_at), now) is expected


def test_cancelled_wins_over_the_clock():
    assert status(D(cancelled_at=T0), T0 + 5 * H) is Status.CANCELLED
    assert status(D(cancelled_at=T0), T0 - H) is Status.CANCELLED


def test_status_close_equal_to_start_goes_straight_to_distributing():
    d = D(orders_close_at=T0 + 20 * H)
    assert status(d, T0 + 20 * H) is Status.DISTRIBUTING


@pytest.mark.parametrize(
    ("open_", "close", "start", "end", "codes"),
    [
        (T0, T0 + H, T0 + 2 * H, T0 + 3 * H, []),
        (T0, T0 + H, T0 + H, T0 + 3 * H, []),  # close == start is allowed
        (T0 + H, T0 + H, T0 + 2 * H, T0 + 3 * H, ["close_before_open"]),
        (T0 + 2 * H, T0 + H, T0 + 2 * H, T0 + 3 * H, ["close_before_open"]),
        (T0, T0 + 3 * H, T0 + 2 * H, T0 + 4 * H, ["close_after_start"]),
        (T0, T0 + H, T0 + 2 * H, T0 + 2 * H, ["end_before_start"]),
        (
            T0 + 9 * H,
            T0 + 5 * H,
            T0 + 2 * H,
            T0,
            ["close_before_open", "close_after_start", "end_before_start"],
        ),
    ],
)
def test_check_window_lists_every_problem(open_, close, start, end, codes):
    assert [e.code for e in check_window(open_, close, start, end)] == codes


# The action table written out by hand, cell by cell: "ok" or the reason refused.
# Columns: scheduled, open, closed, distributing, distributed, validated, cancelled.
EXPECTED = """
order              orders_not_open_yet ok                  orders_closed     orders_closed      orders_closed      orders_closed        cancelled
change_basket      ok                  ok                  ok                ok                 ok                 validated_undo_first cancelled
record_events      sheet_not_ready     sheet_not_ready     ok                ok                 ok                 ok                   cancelled
correct            orders_not_closed   orders_not_closed   ok                ok                 ok                 validated_undo_first cancelled
validate_basket    not_started         not_started         not_started       ok                 ok                 already_validated    cancelled
validate_day       not_started         not_started         not_started       ok                 ok                 already_validated    cancelled
undo               not_validated       not_validated       not_validated     ok                 ok                 ok                   cancelled
cancel             ok                  ok                  ok                already_took_place already_took_place already_took_place   already_cancelled
remove_unavailable orders_not_open_yet ok                  ok                ok                 ok                 validated_undo_first cancelled
edit               ok                  ok                  ok                already_took_place already_took_place already_took_place   cancelled
edit_offer         ok                  ok                  ok                ok                 ok                 validated_undo_first cancelled
order_window       ok                  ok                  orders_closed     already_took_place already_took_place already_took_place   cancelled
"""
STATES = [
    Status.SCHEDULED,
    Status.OPEN,
    Status.CLOSED,
    Status.DISTRIBUTING,
    Status.DISTRIBUTED,
    Status.VALIDATED,
    Status.CANCELLED,
]
CELLS = [
    (Action(row.split()[0]), state, cell)
    for row in EXPECTED.strip().splitlines()
    for state, cell in zip(STATES, row.split()[1:], strict=True)
]


def test_the_table_covers_every_action_and_state():
    assert {(a, s) for a, s, _ in CELLS} == {(a, s) for a in Action for s in Status}
    assert set(ACTIONS) == set(Action)


@pytest.mark.parametrize(("action", "state", "expected"), CELLS)
def test_action_table_cell(action, state, expected):
    assert refusal(action, state) == (None if expected == "ok" else expected)


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        (Action.CHANGE_BASKET, "basket_validated_undo_first"),
        (Action.CORRECT, "basket_validated_undo_first"),
        (Action.VALIDATE_BASKET, "basket_already_validated"),
        (Action.RECORD_EVENTS, None),  # stored, flagged late
        (Action.UNDO, None),
    ],
)
def test_a_validated_basket_is_closed(action, expected):
    assert refusal(action, Status.DISTRIBUTED, basket_validated=True) == expected
    # a refusal of the day's state comes first
    assert refusal(Action.CHANGE_BASKET, Status.CANCELLED, basket_validated=True) == "cancelled"
