// The distribution sheet on a tablet: works from IndexedDB with or without network.
// Every action is an event in the outbox, applied to the screen at once, sent when it can.
// One state object (sheet-model.js); actions change it and call render(state); the
// store (sheet-store.js) keeps it across reloads. Errors are shown, never swallowed.
(function () {
  "use strict";
  var body = document.body;
  var T = JSON.parse(document.getElementById("i18n").textContent);
  var S = T.strings;
  var money = new Intl.NumberFormat(T.formats.locale, { style: "currency", currency: T.formats.currency });
  var timeFmt = new Intl.DateTimeFormat(T.formats.locale, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  var POLL_MS = 4000; // an idle tablet asks for the others' records this often
  var URLS = { api: body.dataset.api, events: body.dataset.events, page: body.dataset.page, sw: body.dataset.sw };

  // The page's only mutable variable.
  var state = SheetModel.initial({ distributionId: Number(body.dataset.distributionId), online: navigator.onLine });

  function h(tag, attrs, children) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") el.textContent = attrs[k];
      else if (k === "on") Object.keys(attrs.on).forEach(function (ev) { el.addEventListener(ev, attrs.on[ev]); });
      else if (attrs[k] !== null && attrs[k] !== undefined && attrs[k] !== false) el.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) el.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return el;
  }
  function fmt(cents) { return money.format(cents / 100); }
  // A decimal string ("1.25") as the page's language writes it ("1,25"), without float maths.
  function qty(text) { return String(text).replace(".", T.formats.decimal); }
  function unit(line) { return T.units[line.unit] || line.unit || ""; }
  function t(key, vars) { return SheetModel.format(S[key] || key, vars); }
  function method(m) { return T.methods[m] || m; }
  function basketById(id) { return SheetModel.baskets(state).find(function (b) { return b.id === id; }); }

  // ---- changing the state --------------------------------------------------------------
  function update(changes) {
    Object.assign(state, changes);
    render(state);
  }

  // A failure that is not the network is a bug or a refusal: show it, log it.
  function failed(error) {
    var e = SheetModel.syncError(error);
    if (e.kind === "bug") console.error(error);
    return e;
  }

  async function reload() {
    var stored = await SheetStore.loadAll(state.distributionId);
    state = SheetModel.withStore(state, stored.snapshot, stored.outbox, stored.rejected);
    render(state);
  }

  function isRepeat(kind, basketId, payload) {
    return state.acting || SheetModel.isRepeatTap(state.taps, { kind: kind, basketId: basketId, payload: payload, at: Date.now() });
  }

  // One tap, one event. A tap while the previous one is being recorded, or the second
  // half of a double tap (SheetModel.isRepeatTap), records nothing and answers "repeat";
  // otherwise the recorded event, or null when the tablet could not store it.
  async function act(kind, basketId, payload) {
    if (isRepeat(kind, basketId, payload)) return "repeat";
    var tap = { kind: kind, basketId: basketId, payload: payload, at: Date.now() };
    state.acting = true;
    state.taps = SheetModel.rememberTap(state.taps, tap);
    var event = null;
    try {
      event = await SheetStore.record(state.distributionId, kind, basketId, payload);
      await reload();
    } catch (error) {
      if (!event) state.taps = state.taps.filter(function (t) { return t !== tap; });
      state.drawn.detail = null; // draw the panel again: its buttons come back
      update({ error: failed(error) });
    } finally {
      state.acting = false;
    }
    if (!event) return null;
    requestBackgroundSync();
    syncSoon();
    return event;
  }

  function requestBackgroundSync() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.ready.then(function (reg) {
      if (reg.sync) return reg.sync.register("sheet-sync-" + Date.now());
    }).catch(function (error) { console.error("Background Sync", error); });
  }

  function syncSoon() {
    clearTimeout(state.syncTimer);
    state.syncTimer = setTimeout(syncNow, 50);
  }

  // Send the outbox and take the other devices' records (even with nothing to send).
  async function syncNow() {
    if (state.syncing || !state.snapshot) return;
    state.syncing = true;
    var error = null, online = state.online;
    try {
      var result = await SheetStore.sync(state.distributionId);
      error = result.ok ? null : failed(result);
      online = true; // the server answered
    } catch (e) {
      error = failed(e);
      online = error.kind !== "network";
    } finally {
      state.syncing = false;
    }
    await settle(error, online);
  }

  async function refreshFromServer() {
    var error = null, online = state.online;
    try {
      var response = await fetch(URLS.api, { credentials: "same-origin", cache: "no-store" });
      online = true;
      if (response.ok) {
        var data = await response.json();
        var csrf = document.querySelector('meta[name="csrf-token"]').content;
        await SheetStore.saveServerSnapshot(state.distributionId, data, { csrf: data.csrf_token || csrf, events_url: URLS.events, page_url: URLS.page });
      } else {
        var reason = null;
        try { reason = (await response.json()).error || null; } catch { reason = null; }
        error = failed({ ok: false, status: response.status, reason: reason });
      }
    } catch (e) {
      error = failed(e);
      online = error.kind !== "network";
    }
    await settle(error, online);
  }

  // After talking to the server: access lost (revoked link, duty over, signed out) removes
  // the tablet's copy, keeping the events not yet sent.
  async function settle(error, online) {
    if (error && error.kind === "access") {
      try { await SheetStore.forget(state.distributionId); } catch (e) { console.error(e); }
    }
    state.error = error;
    state.online = online;
    await reload();
  }

  // At the end of the day the copy goes (keep_until, from the server), unsent events stay.
  async function forgetIfDayOver() {
    var d = state.snapshot && state.snapshot.data && state.snapshot.data.distribution;
    if (d && d.keep_until && Date.parse(d.keep_until) <= Date.now()) {
      await SheetStore.forget(state.distributionId);
      await reload();
    }
  }

  function tick() {
    forgetIfDayOver().catch(function (e) { update({ error: failed(e) }); });
    if (state.outbox.length || !document.hidden) syncNow();
  }

  function select(id) {
    if (state.selected !== id) state.cashNote = null; // said for the basket it was paid for only
    state.selected = id;
    render(state);
    var detail = document.getElementById("detail");
    detail.scrollIntoView({ block: "nearest" });
    var heading = detail.querySelector("h2");
    if (heading) heading.focus();
  }

  // ---- drawing the state -------------------------------------------------------------
  function render(s) {
    renderStatus(s);
    if (s.drawn.totals !== s.dataKey) {
      renderDuties(s);
      renderProgress(s);
      s.drawn.totals = s.dataKey;
    }
    var listKey = s.dataKey + "|" + s.search + "|" + s.selected;
    if (s.drawn.list !== listKey) {
      renderList(s);
      s.drawn.list = listKey;
    }
    // The open basket is drawn again only when its own events changed: a background sync
    // must not wipe a signature being drawn or an amount being typed.
    var detailKey = s.selected == null ? null : SheetModel.detailKey(s);
    if (s.drawn.detail !== detailKey) {
      renderDetail(s);
      s.drawn.detail = detailKey;
    }
  }

  function renderStatus(s) {
    var bar = SheetModel.statusBar(s, T, function (iso) { return timeFmt.format(new Date(iso)); });
    var net = document.getElementById("net-state");
    net.dataset.state = bar.net;
    net.textContent = bar.netText;
    var pending = document.getElementById("pending-count");
    pending.dataset.count = String(bar.pending);
    pending.textContent = bar.pendingText;
    document.getElementById("last-sync").textContent = bar.lastText;
    var error = document.getElementById("sync-error");
    error.hidden = !bar.error;
    error.textContent = bar.error || "";
  }

  function renderDuties(s) {
    var duties = s.snapshot && s.snapshot.data && s.snapshot.data.duties ? s.snapshot.data.duties : [];
    document.getElementById("on-duty").textContent = duties.length
      ? "· " + S.on_duty + " " + duties.map(function (d) { return d.name + " (" + d.role + ")"; }).join(", ") : "";
  }

  function renderProgress(s) {
    var sum = SheetModel.summary(s);
    document.getElementById("collected-count").textContent = sum.done + " / " + sum.total;
    var bar = document.getElementById("collected-bar");
    bar.max = Math.max(sum.total, 1);
    bar.value = sum.done;
    document.getElementById("money-summary").textContent = Object.keys(sum.byMethod).map(function (m) {
      return method(m) + " " + fmt(sum.byMethod[m]);
    }).join(" · ");
  }

  function statusLabel(st) {
    var label = st.progress === "collected" ? S.collected : st.progress === "partial" ? S.partial : S.to_collect;
    return label + (st.unpaid && st.progress !== "to_collect" ? " · " + S.unpaid : "")
      + (st.overpaid ? " · " + t("overpaid", { amount: fmt(st.overpaid) }) : "");
  }

  function renderList(s) {
    var frag = document.createDocumentFragment();
    var shown = 0;
    SheetModel.baskets(s).forEach(function (b) {
      if (!SheetModel.matches(b, s.search)) return;
      shown++;
      var st = SheetModel.basketStatus(s, b);
      frag.appendChild(h("li", {}, [h("button", {
        type: "button", class: "basket-row state-" + st.progress + (st.unpaid && st.progress !== "to_collect" ? " is-unpaid" : "") + (st.overpaid ? " is-overpaid" : "") + (s.selected === b.id ? " is-selected" : ""),
        "data-basket": b.id,
      }, [
        h("span", { class: "basket-number", text: "#" + b.number }),
        h("span", { class: "basket-name", text: (b.member.sort_name || b.member.name) + (b.given_to ? " · " + t("given_to", { name: b.given_to }) : "") }),
        h("span", { class: "basket-due", text: fmt(st.due) }),
        h("span", { class: "basket-state", text: statusLabel(st) }),
      ])]));
    });
    if (!shown) frag.appendChild(h("li", { class: "muted", text: s.snapshot && s.snapshot.data ? S.no_match : S.no_data }));
    document.getElementById("basket-list").replaceChildren(frag);
  }

  function renderDetail(s) {
    var b = s.selected == null ? null : basketById(s.selected);
    var detail = document.getElementById("detail");
    if (!b) {
      detail.hidden = true;
      detail.replaceChildren();
      delete detail.dataset.basket;
      s.pad = null;
      return;
    }
    var merged = s.merged[b.id], st = SheetModel.basketStatus(s, b);
    var strokes = s.pad && !s.pad.isEmpty() && s.pad.basketId === b.id ? s.pad.toData() : null;
    // Cash already counted stays typed when the amount changes (a line re-weighed).
    var givenBefore = detail.dataset.basket === String(b.id) ? document.getElementById("cash-given") : null;
    detail.dataset.basket = String(b.id);
    detail.hidden = false;
    detail.replaceChildren(
      h("div", { class: "detail-head" }, [
        h("h2", { tabindex: "-1", text: "#" + b.number + " · " + b.member.name }),
        b.member.phone ? h("a", { href: "tel:" + b.member.phone.replace(/\s/g, ""), text: b.member.phone }) : null,
        h("button", { type: "button", class: "secondary outline close-detail", text: S.close, on: { click: function () { update({ selected: null, cashNote: null }); } } }),
      ]),
      // An AMAP basket the member gave away: whoever comes for it takes it.
      h("p", { class: "given-to", hidden: !b.given_to, text: b.given_to ? t("given_to", { name: b.given_to }) : "" }),
      linesSection(b, merged),
      moneySection(b, merged, st, givenBefore ? givenBefore.value : ""),
      signatureSection(b, merged),
      notesSection(merged, b)
    );
    s.pad = null;
    if (!(merged && merged.signature)) setupPad(b.id, strokes);
  }

  function linesSection(b, merged) {
    var rows = b.lines.map(function (line) {
      var ls = SheetState.lineState(merged, line.id);
      var weighed = line.weighed ? SheetState.weighedQuantity(merged, line.id) : null;
      var ordered = qty(line.quantity) + (line.weighed ? "\u00a0" + unit(line) : "");
      return h("li", { class: "line line-" + ls.state + (line.available ? "" : " unavailable") + (line.weighed ? " is-weighed" : ""), "data-line": line.id }, [
        h("span", { class: "line-name" }, [
          ordered + " × " + line.product + (line.available ? "" : " (" + S.unavailable + ")"),
          weighed != null ? h("span", { class: "line-weighed", text: t("weighed_as", { quantity: qty(weighed) + "\u00a0" + unit(line) }) }) : null,
        ]),
        h("span", { class: "line-total", text: fmt(SheetState.lineDueCents(merged, line)) }),
        h("span", { class: "line-actions" }, [
          h("button", { type: "button", class: ls.state === "taken" ? "" : "outline", "aria-pressed": String(ls.state === "taken"),
            text: S.taken, on: { click: function () { act("pickup", b.id, { state: "taken", line_id: line.id }); } } }),
          h("button", { type: "button", class: ls.state === "not_taken" ? "secondary" : "secondary outline", "aria-pressed": String(ls.state === "not_taken"),
            text: S.not_taken, on: { click: function () { act("pickup", b.id, { state: "not_taken", line_id: line.id }); } } }),
          line.weighed ? weightControl(b, line, weighed) : quantityControl(b, line, ls),
        ]),
      ]);
    });
    return h("section", { class: "detail-lines", "aria-label": S.products }, [
      h("button", { type: "button", class: "take-all", text: S.take_all, on: { click: function () { act("pickup", b.id, { state: "taken" }); } } }),
      h("ul", { class: "lines" }, rows),
    ]);
  }

  function quantityInput(attrs, onValue) {
    var input = h("input", Object.assign({ type: "text", inputmode: "decimal", class: "line-qty", autocomplete: "off" }, attrs));
    input.addEventListener("input", function () { input.removeAttribute("aria-invalid"); });
    input.addEventListener("change", function () {
      var q = SheetModel.readQuantity(input.value);
      if (q == null) { input.setAttribute("aria-invalid", "true"); return; }
      onValue(q);
    });
    return input;
  }

  function quantityControl(b, line, ls) {
    return quantityInput({ value: ls.quantity != null ? qty(ls.quantity) : "", placeholder: qty(line.quantity),
      "aria-label": t("quantity_taken", { product: line.product }) }, function (q) {
      act("pickup", b.id, { state: "partial", line_id: line.id, quantity: q });
    });
  }

  // Weighed on the day: the weight sets the line's amount, and the volunteer hands it over.
  function weightControl(b, line, weighed) {
    var id = "weight-" + line.id;
    var input = quantityInput({ id: id, value: weighed != null ? qty(weighed) : "", placeholder: qty(line.quantity),
      "aria-label": t("weighed_quantity", { product: line.product }) }, function (q) {
      act("pickup", b.id, { state: "taken", line_id: line.id, quantity: q });
    });
    return h("span", { class: "weight" }, [
      h("label", { for: id, class: "weight-label", text: S.weight }), input, h("span", { class: "weight-unit", text: unit(line) }),
    ]);
  }

  function moneySection(b, merged, st, givenText) {
    var amount = h("input", { type: "text", inputmode: "decimal", id: "pay-amount", value: qty((st.remaining / 100).toFixed(2)), "aria-label": S.amount });
    var given = h("input", { type: "text", inputmode: "decimal", id: "cash-given", value: givenText || null, placeholder: S.cash_given, "aria-label": S.cash_given });
    var change = h("output", { id: "change", for: "cash-given pay-amount" });
    // what a tap did not do (a double tap), said where the volunteer looks
    var note = h("p", { id: "money-note", class: "money-note", role: "status" });
    var confirmBox = h("div", { id: "overpay-confirm", class: "overpay-confirm", hidden: true });
    var section;
    // The change is always against the amount being paid: typed cash minus that amount.
    function showChange() {
      var a = SheetModel.readCents(amount.value), c = SheetModel.cashChange(a, SheetModel.readCents(given.value));
      change.className = c && c.missing != null ? "missing" : "";
      change.textContent = !c ? "" : c.missing != null ? t("missing", { missing: fmt(c.missing) })
        : t("change_of", { change: fmt(c.change), given: fmt(a + c.change), amount: fmt(a) });
    }
    function label(m) {
      var c = SheetModel.readCents(amount.value);
      return method(m) + " " + (c ? fmt(c) : "");
    }
    function hideConfirm() { confirmBox.hidden = true; confirmBox.replaceChildren(); }
    function moneyTap(kind, payload) {
      if (isRepeat(kind, b.id, payload)) { note.textContent = S.repeat_ignored; return Promise.resolve("repeat"); }
      // no second tap until the panel is drawn again with what this one recorded
      var buttons = Array.prototype.slice.call(section.querySelectorAll("button"));
      buttons.forEach(function (btn) { btn.disabled = true; });
      return act(kind, b.id, payload).then(function (result) {
        buttons.forEach(function (btn) { btn.disabled = false; });
        return result;
      });
    }
    function pay(m, cents, confirmed) {
      note.textContent = "";
      hideConfirm();
      var payload = { method: m, amount_cents: cents };
      if (isRepeat("payment", b.id, payload)) { note.textContent = S.repeat_ignored; return; }
      if (!cents || cents <= 0 || cents > 1000000) { amount.setAttribute("aria-invalid", "true"); amount.focus(); return; }
      var over = SheetModel.overpaidAfter(st, cents);
      if (over && !confirmed) { askOverpay(m, cents, over); return; }
      var typed = given.value, g = SheetModel.readCents(typed), cash = m === "cash" ? SheetModel.cashChange(cents, g) : null;
      // the cash counted belongs to this payment: it leaves the field, its change is said
      state.cashNote = cash && cash.change != null ? { basketId: b.id, eventId: null, given: g, amount: cents } : null;
      given.value = "";
      moneyTap("payment", payload).then(function (result) {
        if (result && result.id && state.cashNote) state.cashNote.eventId = result.id;
        if (result) return;
        state.cashNote = null;
        var field = document.getElementById("cash-given");
        if (field && !field.value) field.value = typed;
      });
    }
    // More than what is left to pay: said, and recorded only when confirmed.
    function askOverpay(m, cents, over) {
      var yes = h("button", { type: "button", class: "overpay-yes", text: t("record_anyway", { payment: method(m) + " " + fmt(cents) }),
        on: { click: function () { pay(m, cents, true); } } });
      var no = h("button", { type: "button", class: "secondary outline overpay-no", text: S.do_not_record,
        on: { click: function () { hideConfirm(); amount.focus(); } } });
      confirmBox.replaceChildren(
        h("p", { role: "alert", text: t("confirm_overpay", { amount: fmt(cents), remaining: fmt(st.remaining), over: fmt(over) }) }),
        h("div", { class: "overpay-actions" }, [yes, no])
      );
      confirmBox.hidden = false;
      no.focus({ preventScroll: true });
      confirmBox.scrollIntoView({ block: "nearest" });
    }
    amount.addEventListener("input", showChange);
    given.addEventListener("input", showChange);
    showChange();
    var methods = state.snapshot.data.distribution.payment_methods.map(function (m) {
      return h("button", { type: "button", class: "pay-button", "data-method": m, on: { click: function () {
        pay(m, SheetModel.readCents(amount.value), false);
      } } }, [label(m)]);
    });
    amount.addEventListener("input", function () {
      amount.removeAttribute("aria-invalid");
      hideConfirm();
      methods.forEach(function (btn) { btn.textContent = label(btn.dataset.method); });
    });
    var payments = SheetState.livePayments(merged).map(function (p) {
      return h("li", {}, [
        method(p.payload.method) + " " + fmt(p.payload.amount_cents) + " ",
        h("button", { type: "button", class: "secondary outline small-button", text: S.void, on: { click: function () {
          note.textContent = "";
          moneyTap("payment_void", { event_id: p.id });
        } } }),
      ]);
    });
    var cn = state.cashNote;
    var cashSaid = cn && cn.basketId === b.id && (!cn.eventId || (merged && merged.payments[cn.eventId] && !merged.voided[cn.eventId]));
    section = h("section", { class: "detail-money", "aria-label": S.payment }, [
      h("dl", { class: "amounts" }, [
        h("dt", { text: S.due }), h("dd", { class: "due", text: fmt(st.due) }),
        h("dt", { text: S.paid }), h("dd", { class: "paid", text: fmt(st.paid) }),
        h("dt", { text: st.overpaid ? S.overpaid_label : S.remaining }),
        h("dd", { class: st.overpaid ? "overpaid" : st.remaining ? "remaining unpaid" : "remaining", text: fmt(st.overpaid || st.remaining) }),
        h("dt", { text: S.balance }), h("dd", { class: b.balance_cents < 0 ? "negative" : "", text: fmt(b.balance_cents) }),
      ]),
      cashSaid ? h("p", { class: "cash-note", text: t("change_after", { given: fmt(cn.given), amount: fmt(cn.amount), change: fmt(cn.given - cn.amount) }) }) : null,
      h("div", { class: "pay-row" }, [
        h("span", { class: "pay-field" }, [h("label", { for: "pay-amount", text: S.amount }), amount]),
        h("span", { class: "pay-field" }, [h("label", { for: "cash-given", text: S.cash_given }), given]),
        change,
      ]),
      h("div", { class: "pay-buttons" }, methods),
      confirmBox,
      note,
      st.overpaid ? h("p", { class: "overpaid-note" }, [h("strong", { text: t("overpaid", { amount: fmt(st.overpaid) }) }), h("br"), S.overpaid_hint]) : null,
      payments.length ? h("ul", { class: "payments" }, payments) : null,
    ]);
    return section;
  }

  function signatureSection(b, merged) {
    var section = h("section", { class: "detail-signature", "aria-label": S.signature }, [h("h3", { text: S.signature })]);
    if (merged && merged.signature) {
      section.appendChild(signatureSvg(merged.signature.payload.svg_path));
      section.appendChild(h("button", { type: "button", class: "secondary outline", text: S.sign_again, on: { click: function () {
        section.replaceChildren(h("h3", { text: S.signature }), padBox(b)); setupPad(b.id, null);
      } } }));
    } else {
      section.appendChild(padBox(b));
    }
    return section;
  }

  function padBox(b) {
    return h("div", { class: "pad-box" }, [
      h("canvas", { id: "signature-pad", width: "600", height: "200", "aria-label": S.sign_here }),
      h("div", { class: "pad-actions" }, [
        h("button", { type: "button", class: "secondary outline", text: S.clear, on: { click: function () { if (state.pad) state.pad.clear(); } } }),
        h("button", { type: "button", class: "secondary outline", text: S.undo, on: { click: function () {
          if (!state.pad) return;
          var data = state.pad.toData(); data.pop(); state.pad.fromData(data);
        } } }),
        h("button", { type: "button", id: "save-signature", text: S.save_signature, on: { click: function () {
          var path = padToPath();
          if (path) act("signature", b.id, { svg_path: path });
        } } }),
      ]),
    ]);
  }

  function setupPad(basketId, strokes) {
    var canvas = document.getElementById("signature-pad");
    if (!canvas || typeof SignaturePad === "undefined") return;
    state.pad = new SignaturePad(canvas, { minWidth: 1, maxWidth: 2.5, penColor: "#1f2a24" });
    state.pad.basketId = basketId;
    if (strokes) state.pad.fromData(strokes);
  }

  function padToPath() {
    if (!state.pad || state.pad.isEmpty()) return "";
    return state.pad.toData().map(function (stroke) {
      return stroke.points.map(function (p, i) { return (i ? "L" : "M") + p.x.toFixed(1) + " " + p.y.toFixed(1); }).join(" ");
    }).join(" ");
  }

  function signatureSvg(path) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 600 200");
    svg.setAttribute("class", "signature");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", S.signed);
    var p = document.createElementNS(ns, "path");
    p.setAttribute("d", path);
    p.setAttribute("fill", "none"); p.setAttribute("stroke", "#1f2a24"); p.setAttribute("stroke-width", "2");
    svg.appendChild(p);
    return svg;
  }

  function notesSection(merged, b) {
    var area = h("textarea", { id: "note-text", rows: "2", maxlength: "1000", placeholder: S.note_placeholder, "aria-label": S.note });
    var notes = (merged ? merged.notes : []).map(function (n) { return h("li", { text: n.payload.text }); });
    return h("section", { class: "detail-notes", "aria-label": S.notes }, [
      h("h3", { text: S.notes }),
      notes.length ? h("ul", {}, notes) : null,
      area,
      h("button", { type: "button", class: "secondary", text: S.add_note, on: { click: function () {
        var text = area.value.trim(); if (text) act("note", b.id, { text: text });
      } } }),
    ]);
  }

  // ---- start -------------------------------------------------------------------------
  document.getElementById("search").addEventListener("input", function (event) { update({ search: event.target.value }); });
  // One listener for the whole list (not one per row): rows are drawn again often.
  document.getElementById("basket-list").addEventListener("click", function (event) {
    var row = event.target.closest(".basket-row");
    if (row) select(Number(row.dataset.basket));
  });

  // The sticky status bar's height, for what sticks under it (the open basket's heading):
  // it changes when the status wraps or the tablet turns.
  var header = document.querySelector(".sheet-header");
  function measureHeader() {
    if (header) document.documentElement.style.setProperty("--sheet-header-h", header.offsetHeight + "px");
  }
  measureHeader();
  if (header && "ResizeObserver" in window) new ResizeObserver(measureHeader).observe(header);
  window.addEventListener("resize", measureHeader);
  window.addEventListener("online", function () { update({ online: true }); syncNow().then(refreshFromServer); });
  window.addEventListener("offline", function () { update({ online: false }); });
  setInterval(tick, POLL_MS);
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(URLS.sw, { scope: "/" }).catch(function (error) { console.error("Service worker", error); });
    // The first visit happens before the worker runs: put this page in its cache now, so
    // the sheet opens offline from the next load on (the evening before, on good network).
    navigator.serviceWorker.ready.then(function () {
      return caches.open("cc-pages").then(function (cache) { return cache.add(location.pathname); });
    }).then(function () { body.dataset.offlineReady = "true"; }, function (error) {
      // offline at first load, or the page refused: it opens offline only once cached
      if (navigator.onLine) console.error("Offline copy", error);
    });
    navigator.serviceWorker.addEventListener("message", function (event) {
      if (event.data && event.data.type === "sheet-synced") reload();
    });
  }
  reload()
    .then(forgetIfDayOver)
    .then(function () { return state.outbox.length ? syncNow() : null; })
    .then(refreshFromServer)
    .catch(function (error) { update({ error: failed(error) }); })
    .then(function () {
      body.dataset.ready = "true";
      // other distributions' copies whose day is over (the service worker does it too)
      return SheetStore.forgetExpired(new Date());
    })
    .catch(function (error) { update({ error: failed(error) }); });
  window.CourtCircuitSheet = {
    reload: reload, syncNow: syncNow, refresh: refreshFromServer,
    state: function () { return state; },
  };
})();
