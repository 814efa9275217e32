"""The merge of tablet events, as tables: duplicates, out-of-order, ties, voids."""

import itertools
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from webapp.domain.sheet import (
    Context,
    DueLine,
    Event,
    Rejected,
    basket_due_cents,
    basket_progress,
    due_quantity,
    merge,
    parse_event,
)

T = datetime(2026, 12, 3, 17, 0, tzinfo=UTC)
S = timedelta(seconds=1)
U = "00000000-0000-4000-8000-{:012d}"


def ev(n, kind, payload, *, at=0, device="A", basket=1):
    return Event(U.format(n), device, kind, basket, T + at * S, payload)


def whole(n, state, **kw):
    return ev(n, "pickup", {"state": state}, **kw)


def line(n, line_id, state, quantity=None, **kw):
    payload = {"state": state, "line_id": line_id}
    if quantity is not None:
        payload["quantity"] = quantity
    return ev(n, "pickup", payload, **kw)


def pay(n, cents, method="cash", **kw):
    return ev(n, "payment", {"method": method, "amount_cents": cents}, **kw)


def void(n, target, **kw):
    return ev(n, "payment_void", {"event_id": U.format(target)}, **kw)


@pytest.mark.parametrize(
    ("events", "line_10", "line_11", "progress"),
    [
        ([], "pending", "pending", "to_collect"),
        ([whole(1, "taken")], "taken", "taken", "collected"),
        ([whole(1, "taken"), line(2, 11, "not_taken", at=1)], "taken", "not_taken", "partial"),
        ([line(2, 11, "not_taken", at=1), whole(1, "taken", at=2)], "taken", "taken", "collected"),
        ([line(1, 10, "partial", "0.5")], "partial", "pending", "partial"),
        ([whole(1, "not_taken")], "not_taken", "not_taken", "to_collect"),
        # same instant: device id breaks the tie, then the event id
        (
            [whole(1, "taken", device="B"), whole(2, "not_taken", device="A")],
            "taken",
            "taken",
            "collected",
        ),
        (
            [whole(2, "taken", device="A"), whole(1, "not_taken", device="A")],
            "taken",
            "taken",
            "collected",
        ),
    ],
)
def test_pickups_last_writer_wins(events, line_10, line_11, progress):
    state = merge(events).get(1)
    states = (state.line_state(10)[0], state.line_state(11)[0]) if state else ("pending", "pending")
    assert states == (line_10, line_11)
    assert basket_progress(state, [10, 11]) == progress


@pytest.mark.parametrize(
    ("events", "paid", "by_method"),
    [
        ([pay(1, 500)], 500, {"cash": 500}),
        ([pay(1, 500), pay(2, 250, "cheque")], 750, {"cash": 500, "cheque": 250}),
        ([pay(1, 500), void(2, 1)], 0, {}),
        ([void(2, 1), pay(1, 500)], 0, {}),  # the void arrived first
        ([pay(1, 500), pay(1, 500)], 500, {"cash": 500}),  # duplicate
        ([pay(1, 500), void(2, 99)], 500, {"cash": 500}),  # void of an unknown payment
    ],
)
def test_payments_add_up_and_only_voids_cancel(events, paid, by_method):
    state = merge(events)[1]
    assert state.paid_cents() == paid
    assert state.paid_by_method() == by_method


def test_notes_accumulate_and_signature_last_wins():
    events = [
        ev(1, "note", {"text": "rembourser 2 €"}),
        ev(2, "note", {"text": "a payé par chèque"}, at=5),
        ev(3, "signature", {"svg_path": "M1 1 L2 2"}, at=1),
        ev(4, "signature", {"svg_path": "M5 5 L6 6"}, at=3, device="B"),
    ]
    state = merge(events)[1]
    assert [n.payload["text"] for n in state.notes] == ["rembourser 2 €", "a payé par chèque"]
    assert state.signature.payload["svg_path"] == "M5 5 L6 6"


def test_any_order_and_any_repetition_give_the_same_state():
    events = [
        whole(1, "taken"),
        line(2, 11, "taken", "1.25", at=2),
        pay(3, 900),
        void(4, 3, at=3),
        pay(5, 700, "card", at=4),
        ev(6, "signature", {"svg_path": "M0 0"}, at=5),
    ]
    expected = None
    for order in itertools.permutations(events):
        state = merge(list(order) + list(order[:2]))[1]
        summary = (
            state.line_state(10),
            state.line_state(11),
            state.weighed_quantity(11),
            state.paid_cents(),
            state.signature.id,
        )
        expected = expected or summary
        assert summary == expected


CTX = Context(
    lines_by_basket={1: {10, 11}, 2: set()}, payment_methods=frozenset({"cash", "card"}), now=T
)


def raw(**overrides):
    base = {
        "id": U.format(1),
        "device_id": "tab-1",
        "kind": "payment",
        "basket_id": 1,
        "recorded_at": "2026-12-03T17:00:00Z",
        "payload": {"method": "cash", "amount_cents": 500},
    }
    return {**base, **overrides}


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ("nope", "not_an_object"),
        (raw(id="not-a-uuid"), "bad_id"),
        (raw(device_id=""), "bad_device_id"),
        (raw(kind="teleport"), "unknown_kind"),
        (raw(basket_id=3), "unknown_basket"),
        (raw(basket_id="1"), "unknown_basket"),
        (raw(recorded_at="yesterday"), "bad_recorded_at"),
        (raw(recorded_at="2026-12-03T17:00:00"), "bad_recorded_at"),
        (raw(recorded_at="2026-12-03T18:00:00Z"), "recorded_in_the_future"),
        (raw(payload={"method": "bitcoin", "amount_cents": 5}), "unknown_payment_method"),
        (raw(payload={"method": "cash", "amount_cents": -5}), "amount_out_of_range"),
        (raw(payload={"method": "cash", "amount_cents": 0}), "amount_out_of_range"),
        (raw(payload={"method": "cash", "amount_cents": 10**9}), "amount_out_of_range"),
        (raw(payload={"method": "cash", "amount_cents": 5.5}), "bad_amount"),
        (raw(payload={"method": "cash", "amount_cents": True}), "bad_amount"),
        (raw(kind="pickup", payload={"state": "eaten"}), "bad_pickup_state"),
        (raw(kind="pickup", payload={"state": "taken", "line_id": 99}), "unknown_line"),
        (
            raw(kind="pickup", payload={"state": "partial", "line_id": 10, "quantity": "-1"}),
            "bad_quantity",
        ),
        (raw(kind="signature", payload={"svg_path": "M0 0" * 20000}), "signature_too_large"),
        (raw(kind="signature", payload={"svg_path": "<script>"}), "bad_signature"),
        (raw(kind="note", payload={"text": "  "}), "bad_note"),
        (raw(kind="note", payload={"text": "x" * 1001}), "note_too_long"),
        (raw(kind="payment_void", payload={"event_id": "x"}), "bad_event_id"),
        (raw(payload="cash"), "bad_payload"),
    ],
)
def test_bad_events_are_rejected_with_a_reason(event, reason):
    with pytest.raises(Rejected) as error:
        parse_event(event, CTX)
    assert error.value.reason == reason


def test_a_good_event_is_parsed():
    event = parse_event(
        raw(kind="pickup", payload={"state": "partial", "line_id": 10, "quantity": 0.5}), CTX
    )
    assert event.payload == {"state": "partial", "line_id": 10, "quantity": "0.5"}
    assert event.recorded_at == T
    assert merge([event])[1].line_state(10) == ("partial", Decimal("0.5"))


# Line 10: carrots, weighed, 1.5 kg ordered at 2.60 €/kg (3.90 €).
# Line 11: bread, 2 loaves at 4.50 € (9.00 €). Basket ordered: 12.90 €.
CARROTS = DueLine(line_id=10, quantity=Decimal("1.5"), unit_price_cents=260, weighed=True)
BREAD = DueLine(line_id=11, quantity=Decimal(2), unit_price_cents=450, weighed=False)


@pytest.mark.parametrize(
    ("events", "carrots", "bread", "due"),
    [
        ([], "1.5", "2", 1290),
        ([whole(1, "taken")], "1.5", "2", 1290),
        # weighed more, then less: the last weighing counts
        ([line(1, 10, "taken", "1.75")], "1.75", "2", 455 + 900),
        ([line(1, 10, "taken", "1.75"), line(2, 10, "taken", "1.2", at=1)], "1.2", "2", 312 + 900),
        # the same two weighings received in the other order
        ([line(2, 10, "taken", "1.2", at=1), line(1, 10, "taken", "1.75")], "1.2", "2", 312 + 900),
        # weighed, then the whole basket taken, or the line tapped "taken": the weight stays
        ([line(1, 10, "taken", "1.75"), whole(2, "taken", at=1)], "1.75", "2", 455 + 900),
        ([line(1, 10, "taken", "1.75"), line(2, 10, "taken", at=1)], "1.75", "2", 455 + 900),
        # not taken by the member: the producer delivered it, it stays due
        ([whole(1, "not_taken")], "1.5", "2", 1290),
        ([line(1, 10, "not_taken"), line(2, 11, "not_taken")], "1.5", "2", 1290),
        ([line(1, 10, "taken", "1.75"), line(2, 10, "not_taken", at=1)], "1.75", "2", 455 + 900),
        # a partial pickup of a line that is not weighed stays due in full
        ([line(1, 11, "partial", "1")], "1.5", "2", 1290),
        # weighed at zero: nothing to pay for that line
        ([line(1, 10, "taken", "0")], "0", "2", 900),
        # another basket's weighing changes nothing here
        ([line(1, 10, "taken", "3", basket=2)], "1.5", "2", 1290),
    ],
)
def test_due_weighed_quantity_sets_the_amount(events, carrots, bread, due):
    state = merge(events).get(1)
    assert due_quantity(state, CARROTS) == Decimal(carrots)
    assert due_quantity(state, BREAD) == Decimal(bread)
    assert basket_due_cents(state, [CARROTS, BREAD]) == due


def test_due_not_delivered_line_is_not_due_even_if_weighed():
    zeroed = DueLine(line_id=10, quantity=Decimal(0), unit_price_cents=260, weighed=True)
    state = merge([line(1, 10, "taken", "1.75")])[1]
    assert due_quantity(state, zeroed) == 0
    assert basket_due_cents(state, [zeroed, BREAD]) == 900


@pytest.mark.parametrize(
    ("quantity", "price", "cents"),
    [
        ("1.125", 260, 293),  # 292.5 -> 293: half-up
        ("0.125", 4, 1),  # 0.5 -> 1
        ("0.124", 4, 0),  # 0.496 -> 0
        ("1.001", 1290, 1291),  # 1291.29 -> 1291
        ("2.5", 3, 8),  # 7.5 -> 8
    ],
)
def test_due_rounds_half_up_once_per_line(quantity, price, cents):
    weighed = DueLine(line_id=10, quantity=Decimal(1), unit_price_cents=price, weighed=True)
    state = merge([line(1, 10, "taken", quantity)])[1]
    assert basket_due_cents(state, [weighed]) == cents
    # two such lines: the sum of rounded lines, not the rounding of the sum
    other = DueLine(line_id=11, quantity=Decimal(1), unit_price_cents=price, weighed=True)
    both = merge([line(1, 10, "taken", quantity), line(2, 11, "taken", quantity)])[1]
    assert basket_due_cents(both, [weighed, other]) == 2 * cents


def test_due_without_any_event_is_the_ordered_total():
    assert basket_due_cents(None, [CARROTS, BREAD]) == 1290
    assert basket_due_cents(None, []) == 0


# The merge rules as data: tests/vectors/sheet/*.json are read here and by
# js-tests/sheet-state.test.js (sheet-state.js in Node), so the server and the tablet
# cannot disagree without one of the two suites failing.
VECTORS = sorted((Path(__file__).parent / "vectors" / "sheet").glob("*.json"))


def vector_outcome(doc: dict) -> dict:
    """What the Python merge makes of a vector's events, in the vectors' own shape."""
    now = datetime.fromisoformat(doc["now"].replace("Z", "+00:00"))
    lines = {int(b): ls for b, ls in doc["lines"].items()}
    ctx = Context({b: {ln["id"] for ln in ls} for b, ls in lines.items()}, PAYMENT_METHODS, now)
    states = merge(parse_event(raw, ctx) for raw in doc["events"])
    baskets, totals = {}, {"collected": 0, "due_cents": 0, "paid_cents": 0, "by_method": {}}
    for basket_id, basket_lines in lines.items():
        state = states.get(basket_id)
        due_lines = [
            DueLine(ln["id"], Decimal(ln["quantity"]), ln["unit_price_cents"], ln["weighed"])
            for ln in basket_lines
        ]
        line_states = {}
        for ln in basket_lines:
            st, quantity = state.line_state(ln["id"]) if state else ("pending", None)
            line_states[str(ln["id"])] = {
                "state": st,
                "quantity": None if quantity is None else str(quantity),
            }
        progress = basket_progress(state, [ln["id"] for ln in basket_lines])
        due = basket_due_cents(state, due_lines)
        paid = state.paid_cents() if state else 0
        baskets[str(basket_id)] = {
            "lines": line_states,
            "progress": progress,
            "weighed": {
                str(line_id): str(state.weighed_quantity(line_id)) for line_id in state.weighings
            }
            if state
            else {},
            "due_cents": due,
            "paid_cents": paid,
            "payments": [p.id for p in state.live_payments()] if state else [],
            "signature": state.signature.id if state and state.signature else None,
            "notes": [n.payload["text"] for n in state.notes] if state else [],
        }
        totals["collected"] += progress == "collected"
        totals["due_cents"] += due
        totals["paid_cents"] += paid
        for method, cents in (state.paid_by_method() if state else {}).items():
            totals["by_method"][method] = totals["by_method"].get(method, 0) + cents
    return {"baskets": baskets, "totals": totals}


PAYMENT_METHODS = frozenset({"cash", "cheque", "card", "transfer", "balance"})


def test_vectors_exist():
    assert len(VECTORS) >= 7


@pytest.mark.parametrize("path", VECTORS, ids=lambda p: p.stem)
def test_merge_vector(path):
    doc = json.loads(path.read_text())
    assert vector_outcome(doc) == doc["expected"]


@pytest.mark.parametrize("path", VECTORS, ids=lambda p: p.stem)
def test_merge_vector_in_any_order(path):
    """The same events reversed, and every event twice, give the same outcome."""
    doc = json.loads(path.read_text())
    doc["events"] = list(reversed(doc["events"])) + doc["events"]
    assert vector_outcome(doc) == doc["expected"]
