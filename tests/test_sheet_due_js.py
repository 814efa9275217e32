"""The tablet and the server agree on what a basket owes: sheet-state.js against domain/sheet.py.

The same raw events go through `parse_event` + `merge` + `basket_due_cents` in Python and
through `SheetState.merge` + `basketDueCents` in Node; every case must give the same cents.
"""

import json
import random
import shutil
import subprocess
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from webapp.domain.sheet import (
    Context,
    DueLine,
    basket_due_cents,
    due_quantity,
    merge,
    parse_event,
)

NODE = shutil.which("node")
STATE_JS = Path(__file__).resolve().parent.parent / "webapp/static/js/sheet-state.js"
NOW = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)
U = "00000000-0000-4000-8000-{:012d}"

SCRIPT = """
const { SheetState } = require(process.argv[1]);
const cases = JSON.parse(require("fs").readFileSync(0, "utf8"));
const out = cases.map(function (c) {
  const state = SheetState.merge(c.events)[1];
  return {
    due: SheetState.basketDueCents(state, c.lines),
    quantities: c.lines.map(function (l) { return SheetState.dueQuantity(state, l); }),
  };
});
process.stdout.write(JSON.stringify(out));
"""

LINES = [
    {"id": 10, "quantity": "1.5", "unit_price_cents": 260, "weighed": True},
    {"id": 11, "quantity": "2", "unit_price_cents": 450, "weighed": False},
    {"id": 12, "quantity": "0.8", "unit_price_cents": 1290, "weighed": True},
    {"id": 13, "quantity": "0", "unit_price_cents": 2200, "weighed": True},  # not delivered
    {"id": 14, "quantity": "10", "unit_price_cents": 3, "weighed": False},
]


def pickup(n, at, state, line_id=None, quantity=None, device="A"):
    payload = {"state": state}
    if line_id is not None:
        payload["line_id"] = line_id
    if quantity is not None:
        payload["quantity"] = quantity
    return {
        "id": U.format(n),
        "device_id": device,
        "kind": "pickup",
        "basket_id": 1,
        "recorded_at": f"2026-12-03T17:{at // 60:02d}:{at % 60:02d}Z",
        "payload": payload,
    }


FIXED = [
    [],
    [pickup(1, 0, "taken")],
    [pickup(1, 0, "taken", 10, "1.125"), pickup(2, 5, "taken")],
    [pickup(1, 5, "taken", 10, "1.75"), pickup(2, 0, "taken", 10, "1.2")],
    [pickup(1, 0, "taken", 10, "1.75"), pickup(2, 5, "not_taken", 10)],
    [pickup(1, 0, "partial", 11, "1"), pickup(2, 0, "taken", 12, "0.125", device="B")],
    [pickup(1, 0, "taken", 13, "2"), pickup(2, 1, "taken", 12, "0")],
    [pickup(2, 0, "taken", 12, "0.333"), pickup(1, 0, "taken", 12, "0.334")],  # tie: id
]


def random_case(rng: random.Random, n: int) -> list[dict]:
    events = []
    for i in range(rng.randint(1, 8)):
        at, device = rng.randint(0, 20), rng.choice("AB")
        if rng.random() < 0.2:
            events.append(
                pickup(n * 100 + i, at, rng.choice(["taken", "not_taken"]), device=device)
            )
            continue
        line_id = rng.choice([line["id"] for line in LINES])
        quantity = None
        if rng.random() < 0.7:
            quantity = str(Decimal(rng.randint(0, 5000)) / 1000)
        state = "taken" if quantity is not None else rng.choice(["taken", "not_taken"])
        events.append(pickup(n * 100 + i, at, state, line_id, quantity, device))
    return events


def python_due(events: list[dict]) -> dict:
    ctx = Context({1: {line["id"] for line in LINES}}, frozenset({"cash"}), NOW)
    state = merge(parse_event(e, ctx) for e in events).get(1)
    lines = [
        DueLine(line["id"], Decimal(line["quantity"]), line["unit_price_cents"], line["weighed"])
        for line in LINES
    ]
    return {
        "due": basket_due_cents(state, lines),
        "quantities": [due_quantity(state, line) for line in lines],
    }


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_sheet_state_js_computes_the_same_due_as_python():
    rng = random.Random(7)
    cases = FIXED + [random_case(rng, n) for n in range(1, 150)]
    result = subprocess.run(
        [NODE, "-e", SCRIPT, str(STATE_JS)],
        input=json.dumps([{"events": c, "lines": LINES} for c in cases]),
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    for events, js in zip(cases, json.loads(result.stdout), strict=True):
        expected = python_due(events)
        got = {"due": js["due"], "quantities": [Decimal(q) for q in js["quantities"]]}
        assert got == expected, events
