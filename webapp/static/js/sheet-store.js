// The tablet's memory: the sheet snapshot and the outbox of events, in IndexedDB, and the
// sync that sends the outbox first-in first-out. Used by the page and by the service
// worker (Background Sync), so it touches neither `window` nor the DOM.
(function (root) {
  "use strict";
  var DB_NAME = "court-circuit-sheet";
  var BATCH = 200;
  var BATCH_BYTES = 512 * 1024; // the server takes 2 MB (web/sheet.py MAX_SYNC_BODY)
  var PAGES_CACHE = "cc-pages";
  var dbPromise = null;

  function open() {
    if (!dbPromise) {
      dbPromise = root.idb.openDB(DB_NAME, 1, {
        upgrade: function (db) {
          db.createObjectStore("snapshots", { keyPath: "distribution_id" });
          var outbox = db.createObjectStore("outbox", { keyPath: "n", autoIncrement: true });
          outbox.createIndex("by_distribution", "distribution_id");
          db.createObjectStore("rejected", { keyPath: "event.id" });
          db.createObjectStore("meta");
        },
      });
    }
    return dbPromise;
  }

  function uuid4() {
    if (root.crypto && root.crypto.randomUUID) return root.crypto.randomUUID();
    var b = new Uint8Array(16);
    root.crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  async function deviceId() {
    var db = await open();
    var id = await db.get("meta", "device_id");
    if (!id) {
      id = "tablet-" + uuid4();
      await db.put("meta", id, "device_id");
    }
    return id;
  }

  async function loadSnapshot(distributionId) {
    return (await open()).get("snapshots", distributionId);
  }

  async function outboxFor(distributionId) {
    var items = await (await open()).getAllFromIndex("outbox", "by_distribution", distributionId);
    return items.sort(function (a, b) { return a.n - b.n; });
  }

  async function rejectedFor(distributionId) {
    var all = await (await open()).getAll("rejected");
    return all.filter(function (r) { return r.distribution_id === distributionId; });
  }

  // What the page needs to draw itself, read in one transaction: the snapshot, the outbox
  // (oldest first) and the refused events of one distribution.
  async function loadAll(distributionId) {
    var tx = (await open()).transaction(["snapshots", "outbox", "rejected"]);
    var found = await Promise.all([
      tx.objectStore("snapshots").get(distributionId),
      tx.objectStore("outbox").index("by_distribution").getAll(distributionId),
      tx.objectStore("rejected").getAll(),
    ]);
    return {
      snapshot: found[0],
      outbox: found[1].sort(function (a, b) { return a.n - b.n; }),
      rejected: found[2].filter(function (r) { return r.distribution_id === distributionId; }),
    };
  }

  // Store a fresh snapshot from the server. Its events already hold everything the
  // server accepted; our outbox keeps what it has not seen yet.
  async function saveServerSnapshot(distributionId, data, urls) {
    var db = await open();
    var record = {
      distribution_id: distributionId, data: data, events: data.events, cursor: data.cursor,
      csrf: urls.csrf, events_url: urls.events_url, page_url: urls.page_url || null,
      synced_at: new Date().toISOString(), loaded_at: new Date().toISOString(),
    };
    await db.put("snapshots", record);
    return record;
  }

  async function record(distributionId, kind, basketId, payload) {
    var event = {
      id: uuid4(), device_id: await deviceId(), kind: kind, basket_id: basketId,
      payload: payload, recorded_at: new Date().toISOString(),
    };
    await (await open()).add("outbox", { distribution_id: distributionId, event: event });
    return event;
  }

  // The oldest events that fit in one request: at most `count` of them and `bytes` of
  // JSON (the server refuses larger bodies), but always at least one.
  function takeBatch(items, count, bytes) {
    var batch = [], size = 0;
    for (var i = 0; i < items.length && batch.length < count; i++) {
      var n = JSON.stringify(items[i].event).length + 1;
      if (batch.length && size + n > bytes) break;
      batch.push(items[i]);
      size += n;
    }
    return batch;
  }

  // Why the server refused a request: its JSON `error`, or nothing.
  async function reasonOf(response) {
    try {
      var body = await response.json();
      return body && typeof body.error === "string" ? body.error : null;
    } catch {
      return null; // not JSON (a proxy's error page): the status says enough
    }
  }

  // Send the outbox in batches, oldest first, then take what other devices sent (an
  // empty outbox still asks: that is how tablets see each other's records). An event
  // leaves the outbox only once the server answered for it: accepted and duplicate go
  // into the known events, rejected into the rejected store (kept and shown, never
  // dropped). A network failure throws (fetch's TypeError); a refusal answers
  // { ok: false, status, reason } and keeps every event waiting.
  async function sync(distributionId) {
    var db = await open();
    var snap = await db.get("snapshots", distributionId);
    if (!snap) return { ok: false, reason: "no_snapshot" };
    var did = await deviceId();
    for (;;) {
      var waiting = await outboxFor(distributionId);
      var items = takeBatch(waiting, BATCH, BATCH_BYTES);
      var response = await root.fetch(snap.events_url, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": snap.csrf },
        body: JSON.stringify({ device_id: did, cursor: snap.cursor, events: items.map(function (i) { return i.event; }) }),
      });
      if (!response.ok) return { ok: false, status: response.status, reason: await reasonOf(response) };
      var answer = await response.json();
      snap = await settle(distributionId, items, answer);
      if (items.length === waiting.length) return { ok: true };
    }
  }

  async function settle(distributionId, items, answer) {
    var db = await open();
    var tx = db.transaction(["snapshots", "outbox", "rejected"], "readwrite");
    var snap = await tx.objectStore("snapshots").get(distributionId);
    var known = {};
    snap.events.forEach(function (e) { known[e.id] = true; });
    var byId = {};
    items.forEach(function (i) { byId[i.event.id] = i; });
    answer.results.forEach(function (r) {
      var item = byId[r.id];
      if (!item) return;
      if (r.status === "rejected") {
        tx.objectStore("rejected").put({ distribution_id: distributionId, event: item.event, reason: r.reason });
      } else if (!known[r.id] && !snap.wiped) {
        snap.events.push(item.event);
        known[r.id] = true;
      }
      tx.objectStore("outbox").delete(item.n);
    });
    answer.events.forEach(function (e) {
      if (!known[e.id] && !snap.wiped) { snap.events.push(e); known[e.id] = true; }
    });
    snap.cursor = answer.cursor;
    snap.synced_at = new Date().toISOString();
    await tx.objectStore("snapshots").put(snap);
    await tx.done;
    return snap;
  }

  async function syncAll() {
    var db = await open();
    var snaps = await db.getAll("snapshots");
    for (var i = 0; i < snaps.length; i++) {
      if ((await outboxFor(snaps[i].distribution_id)).length) await sync(snaps[i].distribution_id);
    }
  }

  async function pendingCount() {
    return (await open()).count("outbox");
  }

  // Remove the tablet's copy of a sheet (names, phones, amounts, other devices' events,
  // refused events, the cached page) and keep only what sending the outbox needs: the
  // events not yet sent stay until the server has them.
  async function forget(distributionId) {
    var db = await open();
    var snap = await db.get("snapshots", distributionId);
    if (!snap) return false;
    var tx = db.transaction(["snapshots", "rejected"], "readwrite");
    await tx.objectStore("snapshots").put({
      distribution_id: distributionId, data: null, events: [], cursor: snap.cursor,
      csrf: snap.csrf, events_url: snap.events_url, page_url: snap.page_url, synced_at: snap.synced_at,
      wiped: true,
    });
    var rejected = await tx.objectStore("rejected").getAll();
    for (var i = 0; i < rejected.length; i++) {
      if (rejected[i].distribution_id === distributionId) await tx.objectStore("rejected").delete(rejected[i].event.id);
    }
    await tx.done;
    if (snap.page_url && root.caches) {
      var cache = await root.caches.open(PAGES_CACHE);
      await cache.delete(new URL(snap.page_url, root.location.href).href);
    }
    return true;
  }

  // Every sheet whose day is over (`keep_until` from the server, the end of the day).
  async function forgetExpired(now) {
    var snaps = await (await open()).getAll("snapshots");
    var forgotten = [];
    for (var i = 0; i < snaps.length; i++) {
      var until = snaps[i].data && snaps[i].data.distribution && snaps[i].data.distribution.keep_until;
      if (until && Date.parse(until) <= now.getTime()) {
        await forget(snaps[i].distribution_id);
        forgotten.push(snaps[i].distribution_id);
      }
    }
    return forgotten;
  }

  // Signing out: send what waits, then remove every copy. Answers how many events are
  // still waiting (kept on the tablet, sent the next time the sheet opens).
  async function signOut() {
    try {
      await syncAll();
    } catch {
      // offline or refused: the events stay in the outbox, counted below
    }
    var snaps = await (await open()).getAll("snapshots");
    for (var i = 0; i < snaps.length; i++) await forget(snaps[i].distribution_id);
    return { pending: await pendingCount() };
  }

  root.SheetStore = {
    open: open, deviceId: deviceId, loadSnapshot: loadSnapshot, loadAll: loadAll, outboxFor: outboxFor,
    rejectedFor: rejectedFor, saveServerSnapshot: saveServerSnapshot, record: record,
    sync: sync, syncAll: syncAll, takeBatch: takeBatch, pendingCount: pendingCount,
    forget: forget, forgetExpired: forgetExpired, signOut: signOut,
  };
})(typeof self !== "undefined" ? self : globalThis);
