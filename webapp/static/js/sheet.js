// The distribution sheet on a tablet: works from IndexedDB with or without network.
// Every action is an event in the outbox, applied to the screen at once, sent when it can.
(function () {
  "use strict";
  var body = document.body;
  var distributionId = Number(body.dataset.distributionId);
  var T = JSON.parse(document.getElementById("i18n").textContent);
  var locale = body.dataset.locale === "en" ? "en-GB" : "fr-FR";
  var money = new Intl.NumberFormat(locale, { style: "currency", currency: "EUR" });
  var timeFmt = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  var decimalSeparator = (1.5).toLocaleString(locale).charAt(1);
  var snap = null, outbox = [], rejected = [], states = {}, selected = null, pad = null;
  var syncing = false, lastError = null;
  var SYNC_EVERY_MS = 4000;

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
  function qty(text) { return String(text).replace(".", decimalSeparator); }
  function unit(line) { return (T.units && T.units[line.unit]) || line.unit || ""; }
  function t(key, vars) {
    var s = T[key] || key;
    Object.keys(vars || {}).forEach(function (k) { s = s.replace("%(" + k + ")s", vars[k]); });
    return s;
  }

  // ---- state -------------------------------------------------------------------------
  async function reload() {
    snap = await SheetStore.loadSnapshot(distributionId);
    outbox = await SheetStore.outboxFor(distributionId);
    rejected = await SheetStore.rejectedFor(distributionId);
    var events = snap ? snap.events.concat(outbox.map(function (i) { return i.event; })) : [];
    states = SheetState.merge(events);
    render();
  }

  function baskets() { return snap ? snap.data.baskets : []; }
  function basketById(id) { return baskets().find(function (b) { return b.id === id; }); }
  function lineIds(b) { return b.lines.map(function (l) { return l.id; }); }
  function paid(b) { return SheetState.paidCents(states[b.id]); }
  // What the basket owes now: a weighed line costs what was weighed (sheet-state.js).
  function due(b) { return SheetState.basketDueCents(states[b.id], b.lines); }
  function basketStatus(b) {
    var p = SheetState.progress(states[b.id], lineIds(b));
    var unpaid = paid(b) < due(b);
    return { progress: p, unpaid: unpaid };
  }

  // ---- actions -----------------------------------------------------------------------
  async function act(kind, basketId, payload) {
    await SheetStore.record(distributionId, kind, basketId, payload);
    await reload();
    requestBackgroundSync();
    syncSoon();
  }

  function requestBackgroundSync() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.ready.then(function (reg) {
      if (reg.sync) return reg.sync.register("sheet-sync-" + Date.now()).catch(function () {});
    });
  }

  var syncTimer = null;
  function syncSoon() { clearTimeout(syncTimer); syncTimer = setTimeout(syncNow, 50); }

  async function syncNow() {
    if (syncing || !snap) return;
    syncing = true;
    try {
      var result = await SheetStore.sync(distributionId);
      lastError = result.ok ? null : (result.status === 401 || result.status === 403 ? "access" : "server");
      setOnline(result.ok || !!result.status);
    } catch (e) {
      lastError = "network";
      setOnline(false);
    } finally {
      syncing = false;
    }
    await reload();
  }

  async function refreshFromServer() {
    try {
      var response = await fetch(body.dataset.api, { credentials: "same-origin", cache: "no-store" });
      if (!response.ok) { lastError = response.status === 401 || response.status === 403 ? "access" : "server"; renderStatus(); return; }
      var data = await response.json();
      var csrf = document.querySelector('meta[name="csrf-token"]').content;
      await SheetStore.saveServerSnapshot(distributionId, data, { csrf: data.csrf_token || csrf, events_url: body.dataset.events });
      setOnline(true);
      await reload();
    } catch (e) {
      setOnline(false);
    }
  }

  var online = navigator.onLine;
  function setOnline(value) { online = value; renderStatus(); }

  // ---- rendering ---------------------------------------------------------------------
  var detailKey = null;
  function render() {
    renderStatus();
    renderDuties();
    renderProgress();
    renderList();
    // Re-draw the open basket only when its own events changed: a background sync must
    // not wipe a signature being drawn or an amount being typed.
    if (selected && stateKey(states[selected]) !== detailKey) renderDetail();
  }

  function stateKey(st) {
    if (!st) return "";
    return JSON.stringify([st.whole && st.whole.id, Object.keys(st.lines).map(function (k) { return st.lines[k].id; }),
      Object.keys(st.payments), Object.keys(st.voided), st.signature && st.signature.id, st.notes.length,
      Object.keys(st.weighings || {}).map(function (k) { return st.weighings[k].id; })]);
  }

  function renderDuties() {
    var duties = snap && snap.data.duties ? snap.data.duties : [];
    document.getElementById("on-duty").textContent = duties.length
      ? "· " + T.on_duty + " " + duties.map(function (d) { return d.name + " (" + d.role + ")"; }).join(", ") : "";
  }

  function renderStatus() {
    var net = document.getElementById("net-state");
    net.dataset.state = online ? "online" : "offline";
    net.textContent = online ? T.online : T.offline;
    var pending = document.getElementById("pending-count");
    pending.dataset.count = String(outbox.length);
    pending.textContent = outbox.length ? t("pending", { n: outbox.length }) : T.nothing_pending;
    if (rejected.length) pending.textContent += " · " + t("rejected", { n: rejected.length });
    var last = document.getElementById("last-sync");
    last.textContent = snap && snap.synced_at ? t("last_sync", { time: timeFmt.format(new Date(snap.synced_at)) }) : T.never_synced;
    if (lastError === "access") last.textContent += " · " + T.access_lost;
  }

  function renderProgress() {
    var all = baskets(), done = 0, byMethod = {};
    all.forEach(function (b) {
      if (basketStatus(b).progress === "collected") done++;
      SheetState.livePayments(states[b.id]).forEach(function (p) {
        byMethod[p.payload.method] = (byMethod[p.payload.method] || 0) + p.payload.amount_cents;
      });
    });
    document.getElementById("collected-count").textContent = done + " / " + all.length;
    var bar = document.getElementById("collected-bar");
    bar.max = Math.max(all.length, 1); bar.value = done;
    document.getElementById("money-summary").textContent = Object.keys(byMethod).map(function (m) {
      return (T.methods[m] || m) + " " + fmt(byMethod[m]);
    }).join(" · ");
  }

  function normalise(s) { return s.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase(); }

  function matches(b, q) {
    if (!q) return true;
    if (/^\d+$/.test(q)) return String(b.number).indexOf(q) === 0;
    var name = normalise(b.member.name), sort = normalise(b.member.sort_name || "");
    return name.indexOf(q) >= 0 || sort.indexOf(q) === 0 || name.split(" ").some(function (w) { return w.indexOf(q) === 0; });
  }

  function statusLabel(st) {
    var label = st.progress === "collected" ? T.collected : st.progress === "partial" ? T.partial : T.to_collect;
    return label + (st.unpaid && st.progress !== "to_collect" ? " · " + T.unpaid : "");
  }

  function renderList() {
    var list = document.getElementById("basket-list");
    var q = normalise(document.getElementById("search").value.trim());
    var frag = document.createDocumentFragment();
    var shown = 0;
    baskets().forEach(function (b) {
      if (!matches(b, q)) return;
      shown++;
      var st = basketStatus(b);
      frag.appendChild(h("li", {}, [h("button", {
        type: "button", class: "basket-row state-" + st.progress + (st.unpaid && st.progress !== "to_collect" ? " is-unpaid" : "") + (selected === b.id ? " is-selected" : ""),
        "data-basket": b.id, on: { click: function () { select(b.id); } },
      }, [
        h("span", { class: "basket-number", text: "#" + b.number }),
        h("span", { class: "basket-name", text: b.member.sort_name || b.member.name }),
        h("span", { class: "basket-due", text: fmt(due(b)) }),
        h("span", { class: "basket-state", text: statusLabel(st) }),
      ])]));
    });
    if (!shown) frag.appendChild(h("li", { class: "muted", text: snap ? T.no_match : T.no_data }));
    list.replaceChildren(frag);
  }

  function select(id) {
    selected = id;
    renderList();
    renderDetail();
    var detail = document.getElementById("detail");
    detail.hidden = false;
    detail.scrollIntoView({ block: "nearest" });
    var heading = detail.querySelector("h2");
    if (heading) heading.focus();
  }

  function renderDetail() {
    var b = basketById(selected);
    var detail = document.getElementById("detail");
    if (!b) { detail.hidden = true; return; }
    var state = states[b.id], dueCents = due(b), paidCents = paid(b), remaining = Math.max(dueCents - paidCents, 0);
    var strokes = pad && !pad.isEmpty() && pad.basketId === b.id ? pad.toData() : null;
    // Cash already counted stays typed when the amount changes (a line re-weighed).
    var givenBefore = detail.dataset.basket === String(b.id) ? document.getElementById("cash-given") : null;
    detail.dataset.basket = String(b.id);
    detailKey = stateKey(state);
    detail.replaceChildren(
      h("div", { class: "detail-head" }, [
        h("h2", { tabindex: "-1", text: "#" + b.number + " · " + b.member.name }),
        b.member.phone ? h("a", { href: "tel:" + b.member.phone.replace(/\s/g, ""), text: b.member.phone }) : null,
        h("button", { type: "button", class: "secondary outline close-detail", text: T.close, on: { click: function () { selected = null; detail.hidden = true; renderList(); } } }),
      ]),
      linesSection(b, state),
      moneySection(b, state, dueCents, paidCents, remaining, givenBefore ? givenBefore.value : ""),
      signatureSection(b, state),
      notesSection(b, state)
    );
    pad = null;
    if (!(state && state.signature)) setupPad(b.id, strokes);
  }

  function linesSection(b, state) {
    var rows = b.lines.map(function (line) {
      var ls = SheetState.lineState(state, line.id);
      var weighed = line.weighed ? SheetState.weighedQuantity(state, line.id) : null;
      var ordered = qty(line.quantity) + (line.weighed ? "\u00a0" + unit(line) : "");
      return h("li", { class: "line line-" + ls.state + (line.available ? "" : " unavailable") + (line.weighed ? " is-weighed" : ""), "data-line": line.id }, [
        h("span", { class: "line-name" }, [
          ordered + " × " + line.product + (line.available ? "" : " (" + T.unavailable + ")"),
          weighed != null ? h("span", { class: "line-weighed", text: t("weighed_as", { quantity: qty(weighed) + "\u00a0" + unit(line) }) }) : null,
        ]),
        h("span", { class: "line-total", text: fmt(SheetState.lineDueCents(state, line)) }),
        h("span", { class: "line-actions" }, [
          h("button", { type: "button", class: ls.state === "taken" ? "" : "outline", "aria-pressed": String(ls.state === "taken"),
            text: T.taken, on: { click: function () { act("pickup", b.id, { state: "taken", line_id: line.id }); } } }),
          h("button", { type: "button", class: ls.state === "not_taken" ? "secondary" : "secondary outline", "aria-pressed": String(ls.state === "not_taken"),
            text: T.not_taken, on: { click: function () { act("pickup", b.id, { state: "not_taken", line_id: line.id }); } } }),
          line.weighed ? weightControl(b, line, weighed) : quantityControl(b, line, ls),
        ]),
      ]);
    });
    return h("section", { class: "detail-lines", "aria-label": T.products }, [
      h("button", { type: "button", class: "take-all", text: T.take_all, on: { click: function () { act("pickup", b.id, { state: "taken" }); } } }),
      h("ul", { class: "lines" }, rows),
    ]);
  }

  // A typed quantity ("1,250", "1.25", "2") as a decimal string, or null when it is not one.
  function readQuantity(text) {
    var q = text.trim().replace(/\s/g, "").replace(",", ".");
    // the server refuses more than 9999 (domain/sheet.py): say so here, before recording
    if (!/^\d{1,4}(\.\d{1,3})?$/.test(q) || Number(q) > 9999) return null;
    return q;
  }

  function quantityInput(attrs, onValue) {
    var input = h("input", Object.assign({ type: "text", inputmode: "decimal", class: "line-qty", autocomplete: "off" }, attrs));
    input.addEventListener("input", function () { input.removeAttribute("aria-invalid"); });
    input.addEventListener("change", function () {
      var q = readQuantity(input.value);
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
      h("label", { for: id, class: "weight-label", text: T.weight }), input, h("span", { class: "weight-unit", text: unit(line) }),
    ]);
  }

  function moneySection(b, state, dueCents, paidCents, remaining, givenText) {
    var amount = h("input", { type: "text", inputmode: "decimal", id: "pay-amount", value: (remaining / 100).toFixed(2).replace(".", decimalSeparator), "aria-label": T.amount });
    var given = h("input", { type: "text", inputmode: "decimal", id: "cash-given", value: givenText || null, placeholder: T.cash_given, "aria-label": T.cash_given });
    var change = h("output", { id: "change", for: "cash-given pay-amount" });
    function cents(input) {
      var v = input.value.trim().replace(/\s/g, "").replace(",", ".");
      if (!/^\d+(\.\d{1,2})?$/.test(v)) return null;
      return Math.round(parseFloat(v) * 100);
    }
    function showChange() {
      var a = cents(amount), g = cents(given);
      change.textContent = a != null && g != null && g >= a ? t("change", { amount: fmt(g - a) }) : "";
    }
    amount.addEventListener("input", showChange);
    given.addEventListener("input", showChange);
    showChange();
    var methods = snap.data.distribution.payment_methods.map(function (m) {
      return h("button", { type: "button", class: "pay-button", "data-method": m, on: { click: function () {
        var c = cents(amount);
        if (!c || c <= 0 || c > 1000000) { amount.setAttribute("aria-invalid", "true"); amount.focus(); return; }
        act("payment", b.id, { method: m, amount_cents: c });
      } } }, [(T.methods[m] || m) + " " + (cents(amount) ? fmt(cents(amount)) : "")]);
    });
    amount.addEventListener("input", function () {
      var c = cents(amount);
      amount.removeAttribute("aria-invalid");
      methods.forEach(function (btn) { btn.textContent = (T.methods[btn.dataset.method] || btn.dataset.method) + " " + (c ? fmt(c) : ""); });
    });
    var payments = SheetState.livePayments(state).map(function (p) {
      return h("li", {}, [
        (T.methods[p.payload.method] || p.payload.method) + " " + fmt(p.payload.amount_cents) + " ",
        h("button", { type: "button", class: "secondary outline small-button", text: T.void, on: { click: function () { act("payment_void", b.id, { event_id: p.id }); } } }),
      ]);
    });
    return h("section", { class: "detail-money", "aria-label": T.payment }, [
      h("dl", { class: "amounts" }, [
        h("dt", { text: T.due }), h("dd", { class: "due", text: fmt(dueCents) }),
        h("dt", { text: T.paid }), h("dd", { class: "paid", text: fmt(paidCents) }),
        h("dt", { text: T.remaining }), h("dd", { class: remaining ? "remaining unpaid" : "remaining", text: fmt(remaining) }),
        h("dt", { text: T.balance }), h("dd", { class: b.balance_cents < 0 ? "negative" : "", text: fmt(b.balance_cents) }),
      ]),
      h("div", { class: "pay-row" }, [h("label", { for: "pay-amount", text: T.amount }), amount, h("label", { for: "cash-given", text: T.cash_given }), given, change]),
      h("div", { class: "pay-buttons" }, methods),
      payments.length ? h("ul", { class: "payments" }, payments) : null,
    ]);
  }

  function signatureSection(b, state) {
    var section = h("section", { class: "detail-signature", "aria-label": T.signature }, [h("h3", { text: T.signature })]);
    if (state && state.signature) {
      section.appendChild(signatureSvg(state.signature.payload.svg_path));
      section.appendChild(h("button", { type: "button", class: "secondary outline", text: T.sign_again, on: { click: function () {
        section.replaceChildren(h("h3", { text: T.signature }), padBox(b)); setupPad(b.id, null);
      } } }));
    } else {
      section.appendChild(padBox(b));
    }
    return section;
  }

  function padBox(b) {
    return h("div", { class: "pad-box" }, [
      h("canvas", { id: "signature-pad", width: "600", height: "200", "aria-label": T.sign_here }),
      h("div", { class: "pad-actions" }, [
        h("button", { type: "button", class: "secondary outline", text: T.clear, on: { click: function () { if (pad) pad.clear(); } } }),
        h("button", { type: "button", class: "secondary outline", text: T.undo, on: { click: function () {
          if (!pad) return; var data = pad.toData(); data.pop(); pad.fromData(data); } } }),
        h("button", { type: "button", id: "save-signature", text: T.save_signature, on: { click: function () {
          var path = padToPath();
          if (path) act("signature", b.id, { svg_path: path });
        } } }),
      ]),
    ]);
  }

  function setupPad(basketId, strokes) {
    var canvas = document.getElementById("signature-pad");
    if (!canvas || typeof SignaturePad === "undefined") return;
    pad = new SignaturePad(canvas, { minWidth: 1, maxWidth: 2.5, penColor: "#1f2a24" });
    pad.basketId = basketId;
    if (strokes) pad.fromData(strokes);
  }

  function padToPath() {
    if (!pad || pad.isEmpty()) return "";
    return pad.toData().map(function (stroke) {
      return stroke.points.map(function (p, i) { return (i ? "L" : "M") + p.x.toFixed(1) + " " + p.y.toFixed(1); }).join(" ");
    }).join(" ");
  }

  function signatureSvg(path) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 600 200");
    svg.setAttribute("class", "signature");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", T.signed);
    var p = document.createElementNS(ns, "path");
    p.setAttribute("d", path);
    p.setAttribute("fill", "none"); p.setAttribute("stroke", "#1f2a24"); p.setAttribute("stroke-width", "2");
    svg.appendChild(p);
    return svg;
  }

  function notesSection(b, state) {
    var area = h("textarea", { id: "note-text", rows: "2", maxlength: "1000", placeholder: T.note_placeholder, "aria-label": T.note });
    var notes = (state ? state.notes : []).map(function (n) { return h("li", { text: n.payload.text }); });
    return h("section", { class: "detail-notes", "aria-label": T.notes }, [
      h("h3", { text: T.notes }),
      notes.length ? h("ul", {}, notes) : null,
      area,
      h("button", { type: "button", class: "secondary", text: T.add_note, on: { click: function () {
        var text = area.value.trim(); if (text) act("note", b.id, { text: text });
      } } }),
    ]);
  }

  // ---- start -------------------------------------------------------------------------
  document.getElementById("search").addEventListener("input", renderList);
  window.addEventListener("online", function () { setOnline(true); syncNow().then(refreshFromServer); });
  window.addEventListener("offline", function () { setOnline(false); });
  setInterval(function () { if (outbox.length) syncNow(); }, SYNC_EVERY_MS);
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(body.dataset.sw, { scope: "/" }).catch(function () {});
    // The first visit happens before the worker runs: put this page in its cache now, so
    // the sheet opens offline from the next load on (the evening before, on good network).
    navigator.serviceWorker.ready.then(function () {
      return caches.open("cc-pages").then(function (cache) { return cache.add(location.pathname); });
    }).then(function () { body.dataset.offlineReady = "true"; }).catch(function () {});
    navigator.serviceWorker.addEventListener("message", function (event) {
      if (event.data && event.data.type === "sheet-synced") reload();
    });
  }
  reload().then(function () { return outbox.length ? syncNow() : null; }).then(refreshFromServer).then(function () { body.dataset.ready = "true"; });
  window.CourtCircuitSheet = { reload: reload, syncNow: syncNow, refresh: refreshFromServer };
})();
