// The merge rules as data: every tests/vectors/sheet/*.json through sheet-state.js must
// give what tests/test_domain_sheet.py gets from the Python merge.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { SheetState } = require("../webapp/static/js/sheet-state.js");

const DIR = path.join(__dirname, "..", "tests", "vectors", "sheet");
const VECTORS = fs.readdirSync(DIR).filter((f) => f.endsWith(".json")).sort();

function outcome(doc) {
  const states = SheetState.merge(doc.events);
  const baskets = {};
  const totals = { collected: 0, due_cents: 0, paid_cents: 0, by_method: {} };
  for (const [basketId, lines] of Object.entries(doc.lines)) {
    const st = states[basketId];
    const lineStates = {};
    for (const line of lines) lineStates[String(line.id)] = SheetState.lineState(st, line.id);
    const progress = SheetState.progress(st, lines.map((l) => l.id));
    const due = SheetState.basketDueCents(st, lines);
    const paid = SheetState.paidCents(st);
    const weighed = {};
    for (const lineId of Object.keys((st && st.weighings) || {})) weighed[lineId] = SheetState.weighedQuantity(st, Number(lineId));
    baskets[basketId] = {
      lines: lineStates,
      progress,
      weighed,
      due_cents: due,
      paid_cents: paid,
      payments: SheetState.livePayments(st).map((p) => p.id),
      signature: st && st.signature ? st.signature.id : null,
      notes: st ? st.notes.map((n) => n.payload.text) : [],
    };
    if (progress === "collected") totals.collected++;
    totals.due_cents += due;
    totals.paid_cents += paid;
    for (const p of SheetState.livePayments(st)) {
      totals.by_method[p.payload.method] = (totals.by_method[p.payload.method] || 0) + p.payload.amount_cents;
    }
  }
  return { baskets, totals };
}

test("there are vectors to read", () => {
  assert.ok(VECTORS.length >= 7, VECTORS.join(", "));
});

for (const file of VECTORS) {
  const doc = JSON.parse(fs.readFileSync(path.join(DIR, file), "utf8"));
  test(`vector ${file}: ${doc.description}`, () => {
    assert.deepStrictEqual(outcome(doc), doc.expected);
  });
  test(`vector ${file} reversed and repeated`, () => {
    const again = Object.assign({}, doc, { events: doc.events.slice().reverse().concat(doc.events) });
    assert.deepStrictEqual(outcome(again), doc.expected);
  });
}

test("a line total rounds half-up with exact decimals", () => {
  assert.equal(SheetState.lineTotalCents("1.125", 260), 293);
  assert.equal(SheetState.lineTotalCents("0.124", 4), 0);
  assert.equal(SheetState.lineTotalCents("1E+1", 3), 30);
});
