// The sheet's state and what the screen shows of it, without the DOM: sheet.js keeps one
// state object made here, changes it through these functions and draws it with render().
// Pure functions only, so `node --test` checks them (js-tests/sheet-model.test.js).
(function (root) {
  "use strict";
  var SheetState = root.SheetState;

  function initial(config) {
    return {
      distributionId: config.distributionId,
      snapshot: null, // what the server sent last (IndexedDB), with the events it accepted
      outbox: [], // events recorded here and not yet answered by the server
      rejected: [], // events the server refused, kept and shown
      merged: {}, // basket id -> merged state (sheet-state.js)
      selected: null, // the open basket's id
      search: "",
      online: config.online !== false,
      syncing: false,
      error: null, // the last sync's failure: { kind: "network"|"access"|"refused"|"bug", reason }
      wiped: false, // the tablet's copy was removed (access ended, end of the day)
      dataKey: "",
      drawn: { list: null, totals: null, detail: null }, // what the screen shows now
      pad: null, // the signature pad of the open basket
      taps: [], // the taps recorded in the last seconds, to tell a double tap (isRepeatTap)
      acting: false, // a tap is being recorded: the next one waits for the screen to follow
      cashNote: null, // the change to give for the last cash payment: { basketId, eventId, given, amount }
    };
  }

  // The state once the store was read again: the merge of every known event.
  function withStore(state, snapshot, outbox, rejected) {
    var events = snapshot && snapshot.events ? snapshot.events : [];
    events = events.concat(outbox.map(function (i) { return i.event; }));
    // what the list and the totals are drawn from: they are drawn again only when it changes
    var dataKey = [snapshot ? snapshot.loaded_at : "", snapshot ? snapshot.cursor : "", events.length,
      outbox.length, rejected.length, snapshot && snapshot.wiped ? "wiped" : ""].join("|");
    return Object.assign({}, state, {
      snapshot: snapshot || null, outbox: outbox, rejected: rejected,
      merged: SheetState.merge(events), dataKey: dataKey, wiped: !!(snapshot && snapshot.wiped),
    });
  }

  // A sync's outcome as the status bar tells it. `outcome` is SheetStore.sync's answer,
  // or the exception a fetch threw (a TypeError: the network), or any other exception.
  function syncError(outcome) {
    if (outcome && outcome.ok) return null;
    if (outcome instanceof Error) {
      return outcome.name === "TypeError" && /fetch|network|Failed/i.test(outcome.message)
        ? { kind: "network", reason: null }
        : { kind: "bug", reason: outcome.message || String(outcome) };
    }
    if (!outcome || !outcome.status) return { kind: "bug", reason: (outcome && outcome.reason) || "unknown" };
    if (outcome.status === 401 || outcome.status === 403) return { kind: "access", reason: outcome.reason || null };
    return { kind: "refused", reason: outcome.reason || "http_" + outcome.status };
  }

  function baskets(state) { return state.snapshot && state.snapshot.data ? state.snapshot.data.baskets : []; }

  function basketStatus(state, basket) {
    var st = state.merged[basket.id];
    var due = SheetState.basketDueCents(st, basket.lines);
    var paid = SheetState.paidCents(st);
    var progress = SheetState.progress(st, basket.lines.map(function (l) { return l.id; }));
    return {
      progress: progress, due: due, paid: paid, unpaid: paid < due,
      remaining: Math.max(due - paid, 0), overpaid: Math.max(paid - due, 0),
    };
  }

  // What a payment of `cents` would leave overpaid (0 when it fits in what is left to pay).
  // Overpaid then, not by this payment alone: a basket already overpaid says its total.
  function overpaidAfter(status, cents) {
    return Math.max(status.paid + cents - status.due, 0);
  }

  // The cash to hand back for a payment of `amountCents` when `givenCents` were handed
  // over: { change } or { missing }, or null when either amount is not known. Always
  // against the payment being made, never against what is left once it is recorded.
  function cashChange(amountCents, givenCents) {
    if (amountCents == null || givenCents == null || amountCents <= 0) return null;
    return givenCents >= amountCents ? { change: givenCents - amountCents } : { missing: amountCents - givenCents };
  }

  // Double taps. A tap on a tablet often lands twice; each landing is a new event, and
  // the server keeps both (two ids). A tap is ignored when the last one recorded for the
  // same basket was the same (kind and payload) less than REPEAT_MS ago, or when both
  // move money and came within MONEY_GAP_MS: the second half of a double tap on
  // "Cancel" lands on the next payment's button once the first one is gone.
  var REPEAT_MS = 2000, MONEY_GAP_MS = 1000;
  var MONEY = { payment: true, payment_void: true };

  function isRepeatTap(taps, tap) {
    var last = null;
    taps.forEach(function (t) { if (t.basketId === tap.basketId && (!last || t.at >= last.at)) last = t; });
    if (!last) return false;
    var age = tap.at - last.at;
    if (age < 0 || age > REPEAT_MS) return false;
    if (last.kind === tap.kind && JSON.stringify(last.payload) === JSON.stringify(tap.payload)) return true;
    return !!(MONEY[last.kind] && MONEY[tap.kind] && age < MONEY_GAP_MS);
  }

  // The taps to remember once `tap` is recorded: the recent ones only.
  function rememberTap(taps, tap) {
    return taps.filter(function (t) { return tap.at - t.at <= REPEAT_MS; }).concat([tap]);
  }

  function summary(state) {
    var done = 0, byMethod = {}, all = baskets(state);
    all.forEach(function (b) {
      if (basketStatus(state, b).progress === "collected") done++;
      SheetState.livePayments(state.merged[b.id]).forEach(function (p) {
        byMethod[p.payload.method] = (byMethod[p.payload.method] || 0) + p.payload.amount_cents;
      });
    });
    return { done: done, total: all.length, byMethod: byMethod };
  }

  function normalise(s) { return s.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase(); }

  function matches(basket, query) {
    var q = normalise(query.trim());
    if (!q) return true;
    if (/^\d+$/.test(q)) return String(basket.number).indexOf(q) === 0;
    var name = normalise(basket.member.name), sort = normalise(basket.member.sort_name || "");
    return name.indexOf(q) >= 0 || sort.indexOf(q) === 0 || name.split(" ").some(function (w) { return w.indexOf(q) === 0; });
  }

  function format(template, vars) {
    var s = template;
    Object.keys(vars || {}).forEach(function (k) { s = s.split("%(" + k + ")s").join(String(vars[k])); });
    return s;
  }

  // The status bar: network, what waits, the last sync and why the last one failed.
  function statusBar(state, T, formatTime) {
    var S = T.strings;
    var pending = state.outbox.length;
    var bar = {
      net: state.online ? "online" : "offline",
      netText: state.online ? S.online : S.offline,
      pending: pending,
      pendingText: pending ? format(S.pending, { n: pending }) : S.nothing_pending,
      lastText: state.snapshot && state.snapshot.synced_at
        ? format(S.last_sync, { time: formatTime(state.snapshot.synced_at) }) : S.never_synced,
      error: null,
    };
    if (state.rejected.length) bar.pendingText += " · " + format(S.rejected, { n: state.rejected.length });
    var e = state.error;
    if (e && e.kind === "access") bar.error = S.access_lost;
    else if (e && (e.kind === "refused" || e.kind === "bug")) {
      var known = T.reasons && T.reasons[e.reason];
      bar.error = format(S.sync_refused, { reason: known || e.reason });
    }
    if (state.wiped) bar.error = S.copy_removed;
    return bar;
  }

  // A typed quantity ("1,250", "1.25", "2") as a decimal string, or null when it is not one.
  // The server refuses more than 9999 (domain/sheet.py): say so here, before recording.
  function readQuantity(text) {
    var q = String(text).trim().replace(/\s/g, "").replace(",", ".");
    if (!/^\d{1,4}(\.\d{1,3})?$/.test(q) || Number(q) > 9999) return null;
    return q;
  }

  // A typed amount of money ("12,50", "3") in cents, or null.
  function readCents(text) {
    var v = String(text).trim().replace(/\s/g, "").replace(",", ".");
    if (!/^\d+(\.\d{1,2})?$/.test(v)) return null;
    return Math.round(parseFloat(v) * 100);
  }

  // A key that changes when the open basket's own events change: the detail is drawn
  // again only then, so a background sync never wipes a signature being drawn.
  function detailKey(state) {
    var st = state.merged[state.selected];
    if (!st) return String(state.selected) + ":";
    return String(state.selected) + ":" + JSON.stringify([st.whole && st.whole.id,
      Object.keys(st.lines).map(function (k) { return st.lines[k].id; }),
      Object.keys(st.payments), Object.keys(st.voided), st.signature && st.signature.id, st.notes.length,
      Object.keys(st.weighings || {}).map(function (k) { return st.weighings[k].id; })]);
  }

  root.SheetModel = {
    initial: initial, withStore: withStore, syncError: syncError, baskets: baskets,
    basketStatus: basketStatus, summary: summary, matches: matches, normalise: normalise,
    format: format, statusBar: statusBar, readQuantity: readQuantity, readCents: readCents,
    detailKey: detailKey, overpaidAfter: overpaidAfter, cashChange: cashChange,
    isRepeatTap: isRepeatTap, rememberTap: rememberTap, REPEAT_MS: REPEAT_MS, MONEY_GAP_MS: MONEY_GAP_MS,
  };
})(typeof self !== "undefined" ? self : globalThis);
