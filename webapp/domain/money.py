"""Money rules: integer cents everywhere, Decimal quantities, half-up once per line.

A basket total is the sum of its rounded lines, never the rounding of a sum, so the
same basket shows the same cents on the shop, the receipt, the sheet and the ledger.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal(1)


def line_total_cents(quantity: Decimal, unit_price_cents: int) -> int:
    """Return the price of `quantity` units at `unit_price_cents`, rounded half-up."""
    if not isinstance(quantity, Decimal):
        raise TypeError("quantity must be a Decimal")
    return int((quantity * unit_price_cents).quantize(CENT, rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Line:
    quantity: Decimal
    unit_price_cents: int
    vat_rate: Decimal

    @property
    def total_cents(self) -> int:
        return line_total_cents(self.quantity, self.unit_price_cents)


def basket_total_cents(lines: Iterable[Line]) -> int:
    """Sum the rounded lines of a basket."""
    return sum(line.total_cents for line in lines)


@dataclass(frozen=True)
class VatRow:
    rate: Decimal
    excl_cents: int
    vat_cents: int
    incl_cents: int


def vat_breakdown(lines: Iterable[Line]) -> list[VatRow]:
    """Split prices incl. VAT into totals per rate, excl. and incl. VAT.

    The VAT-inclusive total of a rate is exact (sum of lines); the excl. VAT part is
    derived once per rate and rounded half-up, so excl + vat == incl to the cent.
    """
    by_rate: dict[Decimal, int] = {}
    for line in lines:
        by_rate[line.vat_rate] = by_rate.get(line.vat_rate, 0) + line.total_cents
    rows = []
    for rate in sorted(by_rate):
        incl = by_rate[rate]
        excl = int((Decimal(incl) * 100 / (100 + rate)).quantize(CENT, rounding=ROUND_HALF_UP))
        rows.append(VatRow(rate=rate, excl_cents=excl, vat_cents=incl - excl, incl_cents=incl))
    return rows


class AmountError(ValueError):
    """A typed amount that is not a valid sum of money."""


def parse_amount_cents(text: str, *, allow_negative: bool = False) -> int:
    """Read '12,50', '12.5' or '1 234,50' as cents; refuse more than two decimals."""
    cleaned = (text or "").strip().replace("\u202f", "").replace("\xa0", "").replace(" ", "")
    cleaned = cleaned.replace("€", "").replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation as exc:
        raise AmountError("not_a_number") from exc
    if not value.is_finite():
        raise AmountError("not_a_number")
    if value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise AmountError("too_many_decimals")
    if value < 0 and not allow_negative:
        raise AmountError("negative")
    if abs(value) >= Decimal("10000000"):
        raise AmountError("too_large")
    return int(value * 100)


def parse_quantity(text: str, *, decimals: int = 3, maximum: Decimal = Decimal(9999)) -> Decimal:
    """Read a typed quantity ('2', '1,5'); refuse negatives, huge values, too many decimals."""
    cleaned = (text or "").strip().replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation as exc:
        raise AmountError("not_a_number") from exc
    if not value.is_finite():
        raise AmountError("not_a_number")
    if value < 0:
        raise AmountError("negative")
    if value > maximum:
        raise AmountError("too_large")
    if value != value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP):
        raise AmountError("too_many_decimals")
    return value.normalize() if value != 0 else Decimal(0)


def whole(text: str | None, *, max_digits: int = 18) -> int | None:
    """An id or count written in ASCII digits, or None. `str.isdigit()` alone is not
    enough: it accepts '²' or '٣', which int() then refuses (a 500 where a 4xx is due)."""
    cleaned = (text or "").strip()
    if cleaned.isascii() and cleaned.isdigit() and len(cleaned) <= max_digits:
        return int(cleaned)
    return None


def parse_whole_number(text: str | None, *, low: int, high: int) -> int:
    """Read a typed whole number ('12') between low and high. Only ASCII digits count:
    Python's isdigit() also accepts '²' or '٣', which int() then refuses."""
    cleaned = (text or "").strip()
    if not (cleaned.isascii() and cleaned.isdigit()) or len(cleaned) > 12:
        raise AmountError("not_a_number")
    value = int(cleaned)
    if not low <= value <= high:
        raise AmountError("out_of_range")
    return value


def parse_rate(text: str | None, *, high: Decimal = Decimal(100)) -> Decimal:
    """Read a percentage ('5,5', '20'): finite, 0 <= rate < high, at most two decimals.
    'NaN', 'sNaN', 'Infinity' and '²' are not rates."""
    cleaned = (text or "").strip().replace(",", ".")
    if not cleaned.isascii() or len(cleaned) > 12:
        raise AmountError("not_a_number")
    try:
        value = Decimal(cleaned)
    except InvalidOperation as exc:
        raise AmountError("not_a_number") from exc
    if not value.is_finite():
        raise AmountError("not_a_number")
    if not Decimal(0) <= value < high:
        raise AmountError("out_of_range")
    if value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise AmountError("too_many_decimals")
    return value
