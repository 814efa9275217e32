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
  assert.deepEqual(st, { progress: "collected", due: 900, paid: 500, unpaid: true });
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
