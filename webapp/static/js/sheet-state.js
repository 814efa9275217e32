// The merge of distribution-day events, mirrored from webapp/domain/sheet.py.
// Pickups and signatures: last writer wins by (recorded_at, device_id, id).
// Payments add up; only a payment_void cancels one. Notes accumulate.
// What a basket owes (same rules as domain/sheet.py's due_quantity and basket_due_cents):
// a weighed line costs the quantity last recorded for it, even if a pickup without a
// quantity came after; any other line stays due in full; a line at zero (not delivered)
// is not due; each line is rounded half-up to the cent, with exact decimal arithmetic.
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
    return { whole: null, lines: {}, payments: {}, voided: {}, signature: null, notes: [], weighings: {} };
  }

  function apply(state, e) {
    var p = e.payload || {};
    if (e.kind === "pickup") {
      if (p.line_id == null) {
        if (!state.whole || later(state.whole, e)) state.whole = e;
      } else {
        var cur = state.lines[p.line_id];
        if (!cur || later(cur, e)) state.lines[p.line_id] = e;
        if (p.quantity != null) {
          var weighed = state.weighings[p.line_id];
          if (!weighed || later(weighed, e)) state.weighings[p.line_id] = e;
        }
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
      if (!states[e.basket_id]) states[e.basket_id] = emptyState();
      apply(states[e.basket_id], e);
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

  function weighedQuantity(state, lineId) {
    var e = state && state.weighings && state.weighings[lineId];
    return e ? String(e.payload.quantity) : null;
  }

  // A decimal string ("1.250", "0.5", "1E+1") as an exact fraction: digits / 10^scale.
  function decimal(text) {
    var m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(String(text).trim());
    if (!m || !(m[2] || m[3])) return null;
    var fraction = m[3] || "", scale = fraction.length - Number(m[4] || 0);
    var digits = BigInt((m[1] === "-" ? "-" : "") + (m[2] || "0") + fraction);
    if (scale < 0) { digits *= BigInt(10) ** BigInt(-scale); scale = 0; }
    return { digits: digits, scale: scale };
  }

  function isZero(text) {
    var d = decimal(text);
    return !d || d.digits <= BigInt(0);
  }

  // quantity × unit price, rounded half-up (away from zero on .5) like Python's ROUND_HALF_UP.
  function lineTotalCents(quantity, unitPriceCents) {
    var d = decimal(quantity);
    if (!d) return 0;
    var num = d.digits * BigInt(unitPriceCents), den = BigInt(10) ** BigInt(d.scale);
    var negative = num < BigInt(0);
    if (negative) num = -num;
    var rounded = (num * BigInt(2) + den) / (den * BigInt(2));
    return Number(negative ? -rounded : rounded);
  }

  // The quantity a line is charged for on the day, as a decimal string.
  function dueQuantity(state, line) {
    if (isZero(line.quantity)) return "0";
    var weighed = line.weighed ? weighedQuantity(state, line.id) : null;
    return weighed != null ? weighed : String(line.quantity);
  }

  function lineDueCents(state, line) {
    return lineTotalCents(dueQuantity(state, line), line.unit_price_cents);
  }

  function basketDueCents(state, lines) {
    return lines.reduce(function (sum, line) { return sum + lineDueCents(state, line); }, 0);
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
    progress: progress, weighedQuantity: weighedQuantity, dueQuantity: dueQuantity,
    lineTotalCents: lineTotalCents, lineDueCents: lineDueCents, basketDueCents: basketDueCents,
  };
  // Node (the unit tests, tests/test_sheet_due_js.py) requires this file as a module.
  if (typeof module === "object" && module.exports) module.exports = { SheetState: root.SheetState };
})(typeof self !== "undefined" ? self : globalThis);
