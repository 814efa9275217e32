// The merge of distribution-day events, mirrored from webapp/domain/sheet.py.
// Pickups and signatures: last writer wins by (recorded_at, device_id, id).
// Payments add up; only a payment_void cancels one. Notes accumulate.
(function (root) {
  "use strict";

  function key(e) {
    return [Date.parse(e.recorded_at), e.device_id, e.id];
  }

  function later(a, b) {
    // true when event b comes after event a in last-writer order
    var ka = key(a), kb = key(b);
    for (var i = 0; i < 3; i++) {
      if (ka[i] < kb[i]) return true;
      if (ka[i] > kb[i]) return false;
    }
    return false;
  }

  function emptyState() {
    return { whole: null, lines: {}, payments: {}, voided: {}, signature: null, notes: [] };
  }

  function apply(state, e) {
    var p = e.payload || {};
    if (e.kind === "pickup") {
      if (p.line_id == null) {
        if (!state.whole || later(state.whole, e)) state.whole = e;
      } else {
        var cur = state.lines[p.line_id];
        if (!cur || later(cur, e)) state.lines[p.line_id] = e;
      }
    } else if (e.kind === "payment") {
      state.payments[e.id] = e;
    } else if (e.kind === "payment_void") {
      state.voided[p.event_id] = true;
    } else if (e.kind === "signature") {
      if (!state.signature || later(state.signature, e)) state.signature = e;
    } else if (e.kind === "note") {
      state.notes.push(e);
    }
  }

  function merge(events) {
    var sorted = events.slice().sort(function (a, b) { return later(a, b) ? -1 : later(b, a) ? 1 : 0; });
    var seen = {}, states = {};
    sorted.forEach(function (e) {
      if (seen[e.id]) return;
      seen[e.id] = true;
      var s = states[e.basket_id] || (states[e.basket_id] = emptyState());
      apply(s, e);
    });
    Object.keys(states).forEach(function (k) {
      states[k].notes.sort(function (a, b) { return later(a, b) ? -1 : 1; });
    });
    return states;
  }

  function lineState(state, lineId) {
    if (!state) return { state: "pending", quantity: null };
    var whole = state.whole, one = state.lines[lineId], latest = whole;
    if (one && (!whole || later(whole, one))) latest = one;
    if (!latest) return { state: "pending", quantity: null };
    var p = latest.payload;
    return { state: p.state, quantity: p.line_id != null && p.quantity != null ? p.quantity : null };
  }

  function livePayments(state) {
    if (!state) return [];
    return Object.keys(state.payments)
      .filter(function (id) { return !state.voided[id]; })
      .map(function (id) { return state.payments[id]; })
      .sort(function (a, b) { return later(a, b) ? -1 : 1; });
  }

  function paidCents(state) {
    return livePayments(state).reduce(function (sum, p) { return sum + p.payload.amount_cents; }, 0);
  }

  function progress(state, lineIds) {
    if (!state || !lineIds.length) return "to_collect";
    var states = lineIds.map(function (id) { return lineState(state, id).state; });
    var done = states.every(function (s) { return s === "taken" || s === "not_taken"; });
    if (done && states.some(function (s) { return s === "taken"; })) {
      return states.every(function (s) { return s === "taken"; }) ? "collected" : "partial";
    }
    if (states.some(function (s) { return s === "taken" || s === "partial"; })) return "partial";
    return "to_collect";
  }

  root.SheetState = {
    merge: merge, lineState: lineState, livePayments: livePayments, paidCents: paidCents,
    progress: progress,
  };
})(typeof self !== "undefined" ? self : this);
