"""Distribution-day events and their merge: the offline sheet's rules, shared by the
server (what validation reads) and mirrored by static/js/sheet-state.js (the tablet).

Merge rules (DESIGN.md): pickups and signatures, last writer wins by
(recorded_at, device_id, id); payments add up and only a payment_void cancels one;
notes accumulate. Applying the same events in any order, any number of times, gives
the same state.

What a basket owes on the day (DESIGN.md "Money"), line by line:
- a weighed product costs what was weighed: the quantity of the latest pickup event
  of that line that carries one. A later pickup without a quantity (the whole basket
  "taken", the line "taken" or "not taken") changes the line's state, not its weight:
  the volunteer weighs, then taps "taken", and the weight still counts;
- any other line stays due in full: "not taken" by the member, or a partial pickup,
  the producer delivered it;
- a line a coordinator set to zero (product not delivered) is not due, weighed or not;
- each line is rounded half-up to the cent, the basket is the sum of its lines.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from .money import line_total_cents

KINDS = ("pickup", "payment", "payment_void", "signature", "note")
PICKUP_STATES = ("taken", "not_taken", "partial")
MAX_AMOUNT_CENTS = 1_000_000  # 10 000 €: anything above is a typing mistake
MAX_SIGNATURE = 60_000
MAX_NOTE = 1_000
CLOCK_SKEW = timedelta(minutes=10)
SVG_PATH = re.compile(r"^[MLCQZmlcqz0-9.,\- ]+$")


@dataclass(frozen=True)
class Event:
    id: str
    device_id: str
    kind: str
    basket_id: int
    recorded_at: datetime
    payload: dict

    @property
    def order_key(self) -> tuple:
        return (self.recorded_at, self.device_id, self.id)


class Rejected(ValueError):
    """An event that cannot be stored; `reason` says why in a stable code."""

    @property
    def reason(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class Context:
    """What an event is checked against: the distribution's baskets, lines and methods."""

    lines_by_basket: dict[int, set[int]]
    payment_methods: frozenset[str]
    now: datetime


def _parse_time(value) -> datetime:
    if not isinstance(value, str) or len(value) > 40:
        raise Rejected("bad_recorded_at")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise Rejected("bad_recorded_at") from error
    if moment.tzinfo is None or not 2000 <= moment.year <= 2100:
        raise Rejected("bad_recorded_at")  # year 1 or 9999 would overflow below
    return moment.astimezone(UTC)


def parse_event(raw: object, ctx: Context) -> Event:
    """Check one raw event from a tablet; raise Rejected with a reason."""
    if not isinstance(raw, dict):
        raise Rejected("not_an_object")
    event_id = raw.get("id")
    try:
        if not isinstance(event_id, str) or str(uuid.UUID(event_id)) != event_id.lower():
            raise ValueError
    except ValueError as error:
        raise Rejected("bad_id") from error
    device_id = raw.get("device_id")
    if not isinstance(device_id, str) or not 0 < len(device_id) <= 64:
        raise Rejected("bad_device_id")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise Rejected("unknown_kind")
    basket_id = raw.get("basket_id")
    if (
        not isinstance(basket_id, int)
        or isinstance(basket_id, bool)
        or basket_id not in ctx.lines_by_basket
    ):
        raise Rejected("unknown_basket")
    recorded_at = _parse_time(raw.get("recorded_at"))
    if recorded_at > ctx.now + CLOCK_SKEW:
        raise Rejected("recorded_in_the_future")
    payload = raw.get("payload")
    if not isinstance(payload, dict):
        raise Rejected("bad_payload")
    clean = _CHECKS[kind](payload, ctx, basket_id)
    return Event(event_id.lower(), device_id, kind, basket_id, recorded_at, clean)


def _check_pickup(payload: dict, ctx: Context, basket_id: int) -> dict:
    state = payload.get("state")
    if state not in PICKUP_STATES:
        raise Rejected("bad_pickup_state")
    clean: dict = {"state": state}
    line_id = payload.get("line_id")
    if line_id is not None:
        if not isinstance(line_id, int) or line_id not in ctx.lines_by_basket[basket_id]:
            raise Rejected("unknown_line")
        clean["line_id"] = line_id
    if payload.get("quantity") is not None:
        try:
            quantity = Decimal(str(payload["quantity"]))
        except InvalidOperation as error:
            raise Rejected("bad_quantity") from error
        if not quantity.is_finite() or quantity < 0 or quantity > 9999 or line_id is None:
            raise Rejected("bad_quantity")
        # Order lines keep three decimals (grams): a finer weight would be charged for one
        # amount and stored, on the receipt, as another.
        if quantity.normalize().as_tuple().exponent < -3:
            raise Rejected("bad_quantity")
        clean["quantity"] = str(quantity)
    return clean


def _check_payment(payload: dict, ctx: Context, basket_id: int) -> dict:
    method = payload.get("method")
    if method not in ctx.payment_methods:
        raise Rejected("unknown_payment_method")
    amount = payload.get("amount_cents")
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise Rejected("bad_amount")
    if not 0 < amount <= MAX_AMOUNT_CENTS:
        raise Rejected("amount_out_of_range")
    return {"method": method, "amount_cents": amount}


def _check_void(payload: dict, ctx: Context, basket_id: int) -> dict:
    target = payload.get("event_id")
    try:
        if not isinstance(target, str):
            raise ValueError
        return {"event_id": str(uuid.UUID(target))}
    except ValueError as error:
        raise Rejected("bad_event_id") from error


def _check_signature(payload: dict, ctx: Context, basket_id: int) -> dict:
    path = payload.get("svg_path")
    if not isinstance(path, str) or not path:
        raise Rejected("bad_signature")
    if len(path) > MAX_SIGNATURE:
        raise Rejected("signature_too_large")
    if not SVG_PATH.match(path):
        raise Rejected("bad_signature")
    return {"svg_path": path}


def _check_note(payload: dict, ctx: Context, basket_id: int) -> dict:
    text = payload.get("text")
    if not isinstance(text, str) or not text.strip():
        raise Rejected("bad_note")
    if len(text) > MAX_NOTE:
        raise Rejected("note_too_long")
    return {"text": text.strip()}


_CHECKS = {
    "pickup": _check_pickup,
    "payment": _check_payment,
    "payment_void": _check_void,
    "signature": _check_signature,
    "note": _check_note,
}


@dataclass
class BasketState:
    """What the tablet recorded for one basket."""

    whole: Event | None = None
    lines: dict[int, Event] = field(default_factory=dict)
    payments: dict[str, Event] = field(default_factory=dict)
    voided: set[str] = field(default_factory=set)
    signature: Event | None = None
    notes: list[Event] = field(default_factory=list)
    # The latest line pickup carrying a quantity, per line: the weight on the day.
    weighings: dict[int, Event] = field(default_factory=dict)

    def line_state(self, line_id: int) -> tuple[str, Decimal | None]:
        """('taken' | 'not_taken' | 'partial' | 'pending', quantity) for one line."""
        candidates = [e for e in (self.whole, self.lines.get(line_id)) if e is not None]
        if not candidates:
            return "pending", None
        latest = max(candidates, key=lambda e: e.order_key)
        if latest.payload.get("line_id") is None:
            return latest.payload["state"], None
        quantity = latest.payload.get("quantity")
        return latest.payload["state"], Decimal(quantity) if quantity is not None else None

    def weighed_quantity(self, line_id: int) -> Decimal | None:
        """The quantity last recorded for this line, whatever pickups came after it."""
        event = self.weighings.get(line_id)
        return Decimal(event.payload["quantity"]) if event is not None else None

    def live_payments(self) -> list[Event]:
        return sorted(
            (p for pid, p in self.payments.items() if pid not in self.voided),
            key=lambda e: e.order_key,
        )

    def paid_cents(self) -> int:
        return sum(p.payload["amount_cents"] for p in self.live_payments())

    def paid_by_method(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for p in self.live_payments():
            totals[p.payload["method"]] = (
                totals.get(p.payload["method"], 0) + p.payload["amount_cents"]
            )
        return totals


def merge(events: Iterable[Event]) -> dict[int, BasketState]:
    """Fold events into a state per basket; order and repetition do not matter."""
    states: dict[int, BasketState] = {}
    seen: set[str] = set()
    for event in sorted(events, key=lambda e: e.order_key):
        if event.id in seen:
            continue
        seen.add(event.id)
        state = states.setdefault(event.basket_id, BasketState())
        _apply(state, event)
    return states


def _later(current: Event | None, event: Event) -> Event:
    return event if current is None or event.order_key > current.order_key else current


def _apply(state: BasketState, event: Event) -> None:
    if event.kind == "pickup":
        line_id = event.payload.get("line_id")
        if line_id is None:
            state.whole = _later(state.whole, event)
        else:
            state.lines[line_id] = _later(state.lines.get(line_id), event)
            if event.payload.get("quantity") is not None:
                state.weighings[line_id] = _later(state.weighings.get(line_id), event)
    elif event.kind == "payment":
        state.payments[event.id] = event
    elif event.kind == "payment_void":
        state.voided.add(event.payload["event_id"])
    elif event.kind == "signature":
        state.signature = _later(state.signature, event)
    elif event.kind == "note":
        state.notes.append(event)


def basket_progress(state: BasketState | None, line_ids: list[int]) -> str:
    """'collected', 'partial' or 'to_collect' for a basket's lines."""
    if state is None or not line_ids:
        return "to_collect"
    states = [state.line_state(line_id)[0] for line_id in line_ids]
    if all(s in ("taken", "not_taken") for s in states) and any(s == "taken" for s in states):
        return "collected" if all(s == "taken" for s in states) else "partial"
    if any(s in ("taken", "partial") for s in states):
        return "partial"
    return "to_collect"


@dataclass(frozen=True)
class DueLine:
    """An order line as the day's amount needs it: ordered quantity, frozen price, weighed."""

    line_id: int
    quantity: Decimal
    unit_price_cents: int
    weighed: bool


def due_quantity(state: BasketState | None, line: DueLine) -> Decimal:
    """Return the quantity a line is charged for on the day (rules in the module docstring)."""
    if line.quantity <= 0:  # not delivered: a coordinator set the line to zero
        return Decimal(0)
    if line.weighed and state is not None:
        weighed = state.weighed_quantity(line.line_id)
        if weighed is not None:
            return weighed
    return line.quantity


def basket_due_cents(state: BasketState | None, lines: Iterable[DueLine]) -> int:
    """Return what a basket owes on the day: the sum of its lines, each rounded half-up."""
    return sum(line_total_cents(due_quantity(state, line), line.unit_price_cents) for line in lines)
