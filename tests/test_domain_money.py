from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from webapp.domain.money import (
    AmountError,
    Line,
    basket_total_cents,
    line_total_cents,
    parse_amount_cents,
    parse_quantity,
    vat_breakdown,
)


@pytest.mark.parametrize(
    ("quantity", "price", "expected"),
    [
        (D("1"), 250, 250),
        (D("3"), 199, 597),
        (D("0"), 999, 0),
        (D("0.5"), 1, 1),  # 0.5 cent rounds half-up
        (D("0.5"), 3, 2),  # 1.5 -> 2
        (D("0.25"), 3, 1),  # 0.75 -> 1
        (D("0.2"), 2, 0),  # 0.4 -> 0
        (D("1.235"), 1000, 1235),
        (D("0.333"), 100, 33),  # 33.3 -> 33
        (D("0.335"), 100, 34),  # 33.5 -> 34
        (D("2.5"), 1290, 3225),
        (D("1000"), 99999, 99999000),
    ],
)
def test_line_total_rounds_half_up_to_the_cent(quantity, price, expected):
    assert line_total_cents(quantity, price) == expected


def test_line_total_refuses_floats():
    with pytest.raises(TypeError):
        line_total_cents(0.5, 100)  # type: ignore[arg-type]


def test_basket_total_is_the_sum_of_rounded_lines_not_the_rounded_sum():
    lines = [Line(D("0.5"), 1, D("5.5")), Line(D("0.5"), 1, D("5.5"))]
    # each line 0.5 -> 1 cent; rounding the sum (1.0) would give 1
    assert basket_total_cents(lines) == 2


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([], []),
        ([Line(D(1), 1055, D("5.5"))], [(D("5.5"), 1000, 55, 1055)]),
        ([Line(D(1), 1200, D(20))], [(D(20), 1000, 200, 1200)]),
        (
            [Line(D(2), 250, D("5.5")), Line(D(1), 600, D(20)), Line(D("0.5"), 1290, D("5.5"))],
            [(D("5.5"), 1085, 60, 1145), (D(20), 500, 100, 600)],
        ),
        ([Line(D(1), 1, D(20))], [(D(20), 1, 0, 1)]),
        ([Line(D(1), 0, D("5.5"))], [(D("5.5"), 0, 0, 0)]),
    ],
)
def test_vat_breakdown_per_rate(lines, expected):
    rows = [(r.rate, r.excl_cents, r.vat_cents, r.incl_cents) for r in vat_breakdown(lines)]
    assert rows == expected


@given(
    st.lists(
        st.tuples(
            st.decimals(min_value=0, max_value=100, places=3),
            st.integers(min_value=0, max_value=100_000),
            st.sampled_from([D("0"), D("2.1"), D("5.5"), D("10"), D("20")]),
        ),
        max_size=20,
    )
)
def test_vat_breakdown_adds_up_to_the_basket_total(raw):
    lines = [Line(q, p, r) for q, p, r in raw]
    rows = vat_breakdown(lines)
    assert sum(r.incl_cents for r in rows) == basket_total_cents(lines)
    assert all(r.excl_cents + r.vat_cents == r.incl_cents for r in rows)
    assert all(r.vat_cents >= 0 for r in rows)


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("12", 1200),
        ("12,5", 1250),
        ("12.50", 1250),
        ("1 234,50", 123450),
        ("0,01", 1),
        ("1\u202f234,50 €", 123450),
        ("0", 0),
    ],
)
def test_parse_amount(text, cents):
    assert parse_amount_cents(text) == cents


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("abc", "not_a_number"),
        ("", "not_a_number"),
        ("1,234", "too_many_decimals"),
        ("-5", "negative"),
        ("NaN", "not_a_number"),
        ("Infinity", "not_a_number"),
        ("99999999", "too_large"),
    ],
)
def test_parse_amount_refuses(text, code):
    with pytest.raises(AmountError) as error:
        parse_amount_cents(text)
    assert str(error.value) == code


@pytest.mark.parametrize(
    ("text", "value"), [("2", D(2)), ("1,5", D("1.5")), ("0.250", D("0.25")), ("0", D(0))]
)
def test_parse_quantity(text, value):
    assert parse_quantity(text) == value


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("-1", "negative"),
        ("1e9", "too_large"),
        ("x", "not_a_number"),
        ("0.0001", "too_many_decimals"),
        ("nan", "not_a_number"),
    ],
)
def test_parse_quantity_refuses(text, code):
    with pytest.raises(AmountError) as error:
        parse_quantity(text)
    assert str(error.value) == code
