from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from webapp.domain.cycle import Status, check_window, status

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)


@dataclass
class D:
    orders_open_at: datetime = T0
    orders_close_at: datetime = T0 + 10 * H
    starts_at: datetime = T0 + 20 * H
    ends_at: datetime = T0 + 22 * H
    validated_at: datetime | None = None


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
