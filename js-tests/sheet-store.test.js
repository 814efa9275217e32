// The outbox in IndexedDB (fake-indexeddb) and the sync against a fake server.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { SheetStore } = require("./setup.js");

const URLS = { csrf: "tok", events_url: "/api/distributions/1/events", page_url: "/distributions/1/sheet" };
function data(distributionId, keepUntil) {
  return { distribution: { id: distributionId, keep_until: keepUntil || "2099-01-01T00:00:00Z" },
    baskets: [{ id: 1, number: 1, member: { name: "Léa", phone: "06" }, lines: [] }], events: [], cursor: "0" };
}
function answer(status, body) {
  return { ok: status < 400, status, json: async () => body };
}
let requests = [];
function server(handler) {
  requests = [];
  globalThis.fetch = async (_url, init) => {
    const body = JSON.parse(init.body);
    requests.push(body);
    return handler(body);
  };
}
const acceptAll = (body) => answer(200, {
  results: body.events.map((e) => ({ id: e.id, status: "accepted" })), events: [], cursor: String(body.events.length),
});

test("recorded events wait in the outbox, in order, with a device id", async () => {
  await SheetStore.saveServerSnapshot(10, data(10), URLS);
  const a = await SheetStore.record(10, "pickup", 1, { state: "taken" });
  const b = await SheetStore.record(10, "note", 1, { text: "x" });
  const outbox = await SheetStore.outboxFor(10);
  assert.deepEqual(outbox.map((i) => i.event.id), [a.id, b.id]);
  assert.match(a.device_id, /^tablet-/);
  assert.equal(a.device_id, b.device_id);
});

test("a sync sends the outbox once; accepted events become known, refused ones are kept apart", async () => {
  await SheetStore.saveServerSnapshot(11, data(11), URLS);
  const good = await SheetStore.record(11, "pickup", 1, { state: "taken" });
  const bad = await SheetStore.record(11, "payment", 1, { method: "bitcoin", amount_cents: 5 });
  const other = { id: "00000000-0000-4000-8000-000000000099", device_id: "B", kind: "note", basket_id: 1, recorded_at: "2026-12-03T17:00:00Z", payload: { text: "y" } };
  server((body) => answer(200, {
    results: [{ id: good.id, status: "accepted" }, { id: bad.id, status: "rejected", reason: "unknown_payment_method" }],
    events: body.events.length ? [other] : [], cursor: "5",
  }));
  assert.deepEqual(await SheetStore.sync(11), { ok: true });
  assert.equal(requests.length, 1);
  assert.deepEqual(await SheetStore.outboxFor(11), []);
  const snap = await SheetStore.loadSnapshot(11);
  assert.deepEqual(snap.events.map((e) => e.id), [good.id, other.id]);
  assert.equal(snap.cursor, "5");
  const rejected = await SheetStore.rejectedFor(11);
  assert.deepEqual(rejected.map((r) => [r.event.id, r.reason]), [[bad.id, "unknown_payment_method"]]);
});

test("an empty outbox still asks for the other devices' records", async () => {
  await SheetStore.saveServerSnapshot(12, data(12), URLS);
  const other = { id: "00000000-0000-4000-8000-000000000098", device_id: "B", kind: "pickup", basket_id: 1, recorded_at: "2026-12-03T17:00:00Z", payload: { state: "taken" } };
  server(() => answer(200, { results: [], events: [other], cursor: "9" }));
  assert.deepEqual(await SheetStore.sync(12), { ok: true });
  assert.equal(requests.length, 1);
  assert.deepEqual(requests[0].events, []);
  assert.equal(requests[0].cursor, "0");
  assert.deepEqual((await SheetStore.loadSnapshot(12)).events.map((e) => e.id), [other.id]);
});

test("a refusal keeps every event waiting and says why", async () => {
  await SheetStore.saveServerSnapshot(13, data(13), URLS);
  await SheetStore.record(13, "pickup", 1, { state: "taken" });
  server(() => answer(409, { error: "orders_still_open" }));
  assert.deepEqual(await SheetStore.sync(13), { ok: false, status: 409, reason: "orders_still_open" });
  server(() => ({ ok: false, status: 502, json: async () => { throw new SyntaxError("not JSON"); } }));
  assert.deepEqual(await SheetStore.sync(13), { ok: false, status: 502, reason: null });
  assert.equal((await SheetStore.outboxFor(13)).length, 1);
});

test("a network failure throws and keeps every event waiting", async () => {
  await SheetStore.saveServerSnapshot(14, data(14), URLS);
  await SheetStore.record(14, "pickup", 1, { state: "taken" });
  globalThis.fetch = async () => { throw new TypeError("Failed to fetch"); };
  await assert.rejects(SheetStore.sync(14), TypeError);
  assert.equal((await SheetStore.outboxFor(14)).length, 1);
});

test("large outboxes go in several requests, none above the size limit", async () => {
  await SheetStore.saveServerSnapshot(15, data(15), URLS);
  const path = "M1 1 " + "L2 2 ".repeat(10000); // ~50 kB, as a long signature
  for (let i = 0; i < 25; i++) await SheetStore.record(15, "signature", 1, { svg_path: path });
  server(acceptAll);
  assert.deepEqual(await SheetStore.sync(15), { ok: true });
  assert.ok(requests.length >= 3, String(requests.length));
  for (const r of requests) assert.ok(JSON.stringify(r).length < 2 * 1024 * 1024);
  assert.equal(requests.reduce((n, r) => n + r.events.length, 0), 25);
  assert.deepEqual(await SheetStore.outboxFor(15), []);
});

test("takeBatch takes at least one event and stops at the count or the size", () => {
  const items = [1, 2, 3].map((n) => ({ event: { id: n, text: "x".repeat(100) } }));
  assert.equal(SheetStore.takeBatch(items, 2, 1e6).length, 2);
  assert.equal(SheetStore.takeBatch(items, 10, 10).length, 1);
  assert.equal(SheetStore.takeBatch(items, 10, 300).length, 2);
  assert.equal(SheetStore.takeBatch([], 10, 10).length, 0);
});

test("forgetting a sheet removes names and cached page, keeps the events not yet sent", async () => {
  const deleted = [];
  globalThis.caches = { open: async () => ({ delete: async (url) => deleted.push(url) }) };
  try {
    await SheetStore.saveServerSnapshot(16, data(16), URLS);
    await SheetStore.record(16, "pickup", 1, { state: "taken" });
    assert.equal(await SheetStore.forget(16), true);
    const snap = await SheetStore.loadSnapshot(16);
    assert.equal(snap.data, null);
    assert.equal(snap.wiped, true);
    assert.ok(!JSON.stringify(snap).includes("Léa"));
    assert.equal((await SheetStore.outboxFor(16)).length, 1);
    assert.deepEqual(deleted, ["http://127.0.0.1:5000/distributions/1/sheet"]);
    // the kept events can still be sent
    server(acceptAll);
    assert.deepEqual(await SheetStore.sync(16), { ok: true });
    assert.deepEqual(await SheetStore.outboxFor(16), []);
  } finally {
    delete globalThis.caches;
  }
});

test("at the end of the day the copy goes, not before", async () => {
  await SheetStore.saveServerSnapshot(17, data(17, "2026-12-04T00:00:00Z"), URLS);
  assert.deepEqual(await SheetStore.forgetExpired(new Date("2026-12-03T23:59:00Z")), []);
  assert.ok((await SheetStore.loadSnapshot(17)).data);
  const forgotten = await SheetStore.forgetExpired(new Date("2026-12-04T00:00:00Z"));
  assert.ok(forgotten.includes(17));
  assert.equal((await SheetStore.loadSnapshot(17)).data, null);
});

test("signing out sends what waits, then removes every copy; what could not be sent is counted and kept", async () => {
  await SheetStore.saveServerSnapshot(18, data(18), URLS);
  await SheetStore.record(18, "pickup", 1, { state: "taken" });
  globalThis.fetch = async () => { throw new TypeError("Failed to fetch"); };
  const before = await SheetStore.pendingCount();
  assert.ok(before >= 1);
  assert.deepEqual(await SheetStore.signOut(), { pending: before });
  assert.equal((await SheetStore.loadSnapshot(18)).data, null);
  server(acceptAll);
  assert.deepEqual(await SheetStore.signOut(), { pending: 0 });
});

test("loadAll reads one distribution's snapshot, outbox (oldest first) and refusals together", async () => {
  await SheetStore.saveServerSnapshot(30, data(30), URLS);
  await SheetStore.saveServerSnapshot(31, data(31), URLS);
  const first = await SheetStore.record(30, "pickup", 1, { state: "taken" });
  await SheetStore.record(31, "note", 1, { text: "elsewhere" });
  const second = await SheetStore.record(30, "payment", 1, { method: "bitcoin", amount_cents: 5 });
  server(() => answer(200, {
    results: [{ id: first.id, status: "accepted" }, { id: second.id, status: "rejected", reason: "unknown_payment_method" }],
    events: [], cursor: "2",
  }));
  await SheetStore.sync(30);
  const third = await SheetStore.record(30, "note", 1, { text: "later" });
  const fourth = await SheetStore.record(30, "note", 1, { text: "later still" });
  const all = await SheetStore.loadAll(30);
  assert.equal(all.snapshot.distribution_id, 30);
  assert.deepEqual(all.snapshot.events.map((e) => e.id), [first.id]);
  assert.deepEqual(all.outbox.map((i) => i.event.id), [third.id, fourth.id]);
  assert.deepEqual(all.rejected.map((r) => r.event.id), [second.id]);
  assert.deepEqual(await SheetStore.loadAll(99), { snapshot: undefined, outbox: [], rejected: [] });
});
