"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { SheetModel } = require("./setup.js");

const T = {
  strings: {
    online: "Online", offline: "Offline", pending: "%(n)s waiting", nothing_pending: "Everything is sent",
    rejected: "%(n)s refused", last_sync: "Last sync %(time)s", never_synced: "Not synced yet",
    access_lost: "access expired", sync_refused: "Sync refused: %(reason)s", copy_removed: "removed",
  },
  reasons: { orders_still_open: "orders are still open" },
};
const U = (n) => "00000000-0000-4000-8000-" + String(n).padStart(12, "0");
const basket = { id: 1, number: 7, member: { name: "Léa Martin", sort_name: "Martin Léa" },
  lines: [{ id: 10, quantity: "2", unit_price_cents: 450, weighed: false }] };
const snapshot = { data: { baskets: [basket] }, events: [], synced_at: "2026-12-03T17:00:00Z" };
function item(n, kind, payload) {
  return { n, event: { id: U(n), device_id: "A", kind, basket_id: 1, recorded_at: "2026-12-03T17:00:0" + n + "Z", payload } };
}

test("the state starts empty and online", () => {
  const s = SheetModel.initial({ distributionId: 3 });
  assert.equal(s.distributionId, 3);
  assert.deepEqual(s.outbox, []);
  assert.equal(s.online, true);
  assert.equal(s.error, null);
});

test("the outbox is merged with the snapshot at once", () => {
  let s = SheetModel.initial({ distributionId: 3 });
  s = SheetModel.withStore(s, snapshot, [item(1, "pickup", { state: "taken" }), item(2, "payment", { method: "cash", amount_cents: 500 })], []);
  const st = SheetModel.basketStatus(s, basket);
  assert.deepEqual(st, { progress: "collected", due: 900, paid: 500, unpaid: true, remaining: 400, overpaid: 0 });
  assert.deepEqual(SheetModel.summary(s), { done: 1, total: 1, byMethod: { cash: 500 } });
});

test("the status bar counts what waits and says why a sync was refused", () => {
  let s = SheetModel.withStore(SheetModel.initial({ distributionId: 3 }), snapshot, [item(1, "pickup", { state: "taken" })], []);
  s = Object.assign(s, { error: SheetModel.syncError({ ok: false, status: 409, reason: "orders_still_open" }) });
  const bar = SheetModel.statusBar(s, T, () => "18:00");
  assert.equal(bar.pending, 1);
  assert.equal(bar.pendingText, "1 waiting");
  assert.equal(bar.lastText, "Last sync 18:00");
  assert.equal(bar.error, "Sync refused: orders are still open");
  s.error = SheetModel.syncError({ ok: false, status: 500, reason: null });
  assert.equal(SheetModel.statusBar(s, T, String).error, "Sync refused: http_500");
  s.error = SheetModel.syncError({ ok: false, status: 403 });
  assert.equal(SheetModel.statusBar(s, T, String).error, "access expired");
});

test("a network failure is not an error to show, a bug is", () => {
  assert.deepEqual(SheetModel.syncError(new TypeError("Failed to fetch")), { kind: "network", reason: null });
  assert.deepEqual(SheetModel.syncError(new TypeError("x is undefined")), { kind: "bug", reason: "x is undefined" });
  assert.equal(SheetModel.syncError({ ok: true }), null);
});

test("search by number prefix, name, first name, without accents", () => {
  assert.ok(SheetModel.matches(basket, "7"));
  assert.ok(!SheetModel.matches(basket, "17"));
  assert.ok(SheetModel.matches(basket, "lea"));
  assert.ok(SheetModel.matches(basket, "mart"));
  assert.ok(SheetModel.matches(basket, " "));
  assert.ok(!SheetModel.matches(basket, "paul"));
});

test("typed quantities and amounts", () => {
  assert.equal(SheetModel.readQuantity("1,250"), "1.250");
  assert.equal(SheetModel.readQuantity(" 2 "), "2");
  assert.equal(SheetModel.readQuantity("1,2,3"), null);
  assert.equal(SheetModel.readQuantity("10000"), null);
  assert.equal(SheetModel.readCents("12,50"), 1250);
  assert.equal(SheetModel.readCents("0.1"), 10);
  assert.equal(SheetModel.readCents("abc"), null);
});

test("the detail key changes only with the open basket's events", () => {
  const s = SheetModel.withStore(SheetModel.initial({ distributionId: 3 }), snapshot, [], []);
  s.selected = 1;
  const before = SheetModel.detailKey(s);
  const other = SheetModel.withStore(s, snapshot, [{ n: 5, event: Object.assign(item(5, "note", { text: "x" }).event, { basket_id: 2 }) }], []);
  assert.equal(SheetModel.detailKey(other), before);
  const mine = SheetModel.withStore(s, snapshot, [item(6, "note", { text: "x" })], []);
  assert.notEqual(SheetModel.detailKey(mine), before);
});

const tap = (kind, payload, at, basketId = 1) => ({ kind, basketId, payload, at });
const cash840 = { method: "cash", amount_cents: 840 };

test("a double tap on a payment records it once; the same payment later does again", () => {
  const taps = SheetModel.rememberTap([], tap("payment", cash840, 1000));
  assert.ok(SheetModel.isRepeatTap(taps, tap("payment", cash840, 1150)));
  // a slow second tap on the same amount (the screen seemed not to answer) is still one
  assert.ok(SheetModel.isRepeatTap(taps, tap("payment", cash840, 1000 + SheetModel.REPEAT_MS - 1)));
  assert.ok(!SheetModel.isRepeatTap(taps, tap("payment", cash840, 1000 + SheetModel.REPEAT_MS + 1)));
  // the panel was drawn again between the two taps: the second one reads "0,00"
  assert.ok(SheetModel.isRepeatTap(taps, tap("payment", { method: "cash", amount_cents: 0 }, 1300)));
  // another basket is another tap
  assert.ok(!SheetModel.isRepeatTap(taps, tap("payment", cash840, 1150, 2)));
});

test("a double tap on Cancel never cancels the next payment too", () => {
  const taps = SheetModel.rememberTap([], tap("payment_void", { event_id: "a" }, 1000));
  // the second landing hits the button now standing where the first one was
  assert.ok(SheetModel.isRepeatTap(taps, tap("payment_void", { event_id: "b" }, 1200)));
  assert.ok(!SheetModel.isRepeatTap(taps, tap("payment_void", { event_id: "b" }, 1000 + SheetModel.MONEY_GAP_MS + 1)));
  // money right after a void: the same double tap; a pickup is not money
  assert.ok(SheetModel.isRepeatTap(taps, tap("payment", cash840, 1200)));
  assert.ok(!SheetModel.isRepeatTap(taps, tap("pickup", { state: "taken" }, 1200)));
});

test("only the last tap on a basket counts: taken, not taken, taken again is three taps", () => {
  let taps = SheetModel.rememberTap([], tap("pickup", { state: "taken", line_id: 10 }, 1000));
  assert.ok(SheetModel.isRepeatTap(taps, tap("pickup", { state: "taken", line_id: 10 }, 1100)));
  taps = SheetModel.rememberTap(taps, tap("pickup", { state: "not_taken", line_id: 10 }, 1300));
  assert.ok(!SheetModel.isRepeatTap(taps, tap("pickup", { state: "taken", line_id: 10 }, 1600)));
  assert.ok(!SheetModel.isRepeatTap(taps, tap("pickup", { state: "taken", line_id: 11 }, 1350)));
  // a payment voided then paid again on purpose, a while later, is recorded
  taps = SheetModel.rememberTap([], tap("payment", cash840, 1000));
  taps = SheetModel.rememberTap(taps, tap("payment_void", { event_id: "a" }, 3000));
  assert.ok(!SheetModel.isRepeatTap(taps, tap("payment", cash840, 4500)));
  // old taps are forgotten
  taps = SheetModel.rememberTap(taps, tap("note", { text: "x" }, 9000));
  assert.equal(taps.length, 1);
});

test("an overpayment is computed, and an overpaid basket says by how much", () => {
  const paid = (cents) => item(3, "payment", { method: "cash", amount_cents: cents });
  let s = SheetModel.withStore(SheetModel.initial({ distributionId: 3 }), snapshot, [paid(900)], []);
  let st = SheetModel.basketStatus(s, basket);
  assert.deepEqual([st.remaining, st.overpaid, st.unpaid], [0, 0, false]);
  assert.equal(SheetModel.overpaidAfter(st, 500), 500); // a cheque on a basket paid in full
  s = SheetModel.withStore(s, snapshot, [paid(400)], []);
  st = SheetModel.basketStatus(s, basket);
  assert.equal(SheetModel.overpaidAfter(st, 500), 0); // exactly what is left
  assert.equal(SheetModel.overpaidAfter(st, 501), 1);
  // two payments of the whole amount: overpaid by one of them
  s = SheetModel.withStore(s, snapshot, [paid(900), item(4, "payment", { method: "cash", amount_cents: 900 })], []);
  st = SheetModel.basketStatus(s, basket);
  assert.deepEqual([st.paid, st.remaining, st.overpaid, st.unpaid], [1800, 0, 900, false]);
  // cancelling the extra one clears it
  s = SheetModel.withStore(s, snapshot, [paid(900), item(4, "payment", { method: "cash", amount_cents: 900 }),
    item(5, "payment_void", { event_id: U(4) })], []);
  assert.equal(SheetModel.basketStatus(s, basket).overpaid, 0);
});

test("the change is against the payment being made, never against what is left after it", () => {
  assert.deepEqual(SheetModel.cashChange(840, 1000), { change: 160 });
  assert.deepEqual(SheetModel.cashChange(840, 840), { change: 0 });
  assert.deepEqual(SheetModel.cashChange(840, 500), { missing: 340 });
  // nothing left to pay (the field reads 0,00): no change to read at all, not 10 €
  assert.equal(SheetModel.cashChange(0, 1000), null);
  assert.equal(SheetModel.cashChange(null, 1000), null);
  assert.equal(SheetModel.cashChange(840, null), null);
});
