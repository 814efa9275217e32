// Court-circuit: glue for htmx. No inline scripts anywhere (CSP: script-src 'self').
(function () {
  "use strict";
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }
  // htmx sends the CSRF token as a header on every state-changing request.
  document.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.verb !== "get") {
      event.detail.headers["X-CSRFToken"] = csrfToken();
    }
  });
  // Let 4xx answers with a body (field errors, or a refusal retargeted to #flashes by
  // the server's one error handler) replace their target like a 200.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    var status = xhr.status;
    var retargeted = status >= 400 && status < 500 && xhr.getResponseHeader("HX-Retarget");
    if (status === 400 || status === 409 || status === 422 || retargeted) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  window.CourtCircuit = { csrfToken: csrfToken };
})();

// Shop: the product list is one form (templates/shop/shop.html), so the page carries its
// CSRF token once. A tap on − / + or a typed quantity posts that product's fields only, to
// that product's URL; the answer replaces the row and the basket bar out of band.
(function () {
  "use strict";
  function shopForm(elt) {
    return elt instanceof HTMLFormElement && elt.classList.contains("shop-form");
  }
  // The button tapped, kept on its submit event (a tap waiting in the queue keeps its own);
  // SubmitEvent.submitter is missing before Safari 15.4, the last click stands in.
  var tapped = null;
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button");
    if (button && button.form && shopForm(button.form)) tapped = button;
  }, true);
  document.addEventListener("submit", function (event) {
    if (shopForm(event.target)) event.shopButton = event.submitter || tapped;
    tapped = null;
  }, true);
  document.addEventListener("htmx:configRequest", function (event) {
    var form = event.detail.elt;
    if (!shopForm(form)) return;
    var trigger = event.detail.triggeringEvent || {};
    var field = trigger.detail && trigger.detail.field; // a typed quantity
    var button = field ? null : trigger.shopButton; // or a tap on − or +
    var control = button || field;
    var row = control && control.closest(".product");
    if (!row) { event.preventDefault(); return; }
    var id = row.id.slice("product-".length);
    // A queued tap runs after the previous answer replaced the row: read the row on the page.
    var input = document.getElementById(row.id).querySelector("input[name^='q-']");
    var parameters = { q: input ? input.value : "0" };
    if (button) parameters.op = button.name; // "inc" or "dec" (its value names the product)
    event.detail.path = form.getAttribute("hx-post") + id;
    event.detail.parameters = parameters;
  });
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input.form && shopForm(input.form) && input.name.indexOf("q-") === 0 && window.htmx) {
      window.htmx.trigger(input.form, "submit", { field: input });
    }
  });
  // Enter in a quantity field saves it (the form's default button is a disabled stand-in).
  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (event.key === "Enter" && input.form && shopForm(input.form) && input.name) {
      event.preventDefault();
      input.blur(); // the change event, if the value changed, sends it
    }
  });
})();

// Signing out removes the distribution sheets this browser keeps for offline use (names,
// phones, amounts): the service worker sends what waits first (sheet-store.js signOut).
// Records it could not send stay on the device: the page says how many, and a second
// "Log out" leaves anyway (they leave the next time the sheet opens with network).
(function () {
  "use strict";
  var WAIT_MS = 10000;

  function cleanUp() {
    if (!("serviceWorker" in navigator)) return Promise.resolve({ pending: 0 });
    return navigator.serviceWorker.getRegistration("/").then(function (reg) {
      if (!reg || !reg.active) return { pending: 0 };
      return new Promise(function (resolve, reject) {
        var channel = new MessageChannel();
        var timer = setTimeout(function () { reject(new Error("the service worker did not answer")); }, WAIT_MS);
        channel.port1.onmessage = function (event) {
          clearTimeout(timer);
          if (event.data && event.data.error) reject(new Error(event.data.error));
          else resolve(event.data);
        };
        reg.active.postMessage({ type: "sheet-sign-out" }, [channel.port2]);
      });
    });
  }

  function say(pending) {
    var where = document.getElementById("flashes");
    return fetch("/sheet/waiting?n=" + pending, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (answer) { return answer.message; }, function () { return "⚠ " + pending; })
      .then(function (text) {
        var p = document.createElement("p");
        p.className = "flash flash-warning sheet-waiting";
        p.dataset.pending = String(pending);
        p.textContent = text;
        if (where) where.replaceChildren(p);
      });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || new URL(form.action, location.href).pathname !== "/logout") return;
    if (form.dataset.sheetsChecked === "done") return; // the native submit below
    event.preventDefault();
    event.stopPropagation();
    var warned = form.dataset.sheetsChecked === "warned";
    cleanUp().then(function (result) {
      if (result.pending && !warned) {
        form.dataset.sheetsChecked = "warned";
        return say(result.pending);
      }
      form.dataset.sheetsChecked = "done";
      form.submit();
    }, function (error) {
      console.error("Sign-out clean-up", error);
      form.dataset.sheetsChecked = "done";
      form.submit();
    });
  }, true);
})();

// A plain form the server refuses comes back to its page with the reason as a message
// (web/errors.py: flash + 303): what was typed comes back with it. Kept for that one next
// page in this tab only (sessionStorage), never passwords, files or hidden fields (the CSRF
// token and the form's one-time key stay the fresh ones of the page).
(function () {
  "use strict";
  var KEY = "cc-typed";
  var MAX_AGE_MS = 120000;
  var SKIPPED = ["password", "hidden", "file", "submit", "button", "reset", "image"];

  // Read from the attributes: `form.method` would be a field named "method", if any.
  function method(form) {
    return (form.getAttribute("method") || "get").toLowerCase();
  }
  function action(form) {
    return new URL(form.getAttribute("action") || location.href, location.href).href;
  }

  function sameAction(address) {
    return Array.prototype.filter.call(document.forms, function (f) {
      return action(f) === address && method(f) === "post";
    });
  }

  function kept(element) {
    var type = (element.type || "").toLowerCase();
    return element.name && !element.disabled && SKIPPED.indexOf(type) < 0;
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || method(form) !== "post") return;
    if (form.hasAttribute("hx-post") || form.closest("[hx-post]")) return; // htmx: no reload
    var fields = [];
    Array.prototype.forEach.call(form.elements, function (element) {
      if (!kept(element)) return;
      var type = element.type.toLowerCase();
      if (type === "checkbox" || type === "radio") {
        fields.push({ name: element.name, value: element.value, checked: element.checked });
      } else if (element.multiple && element.options) {
        var chosen = Array.prototype.filter.call(element.options, function (o) { return o.selected; });
        fields.push({ name: element.name, values: chosen.map(function (o) { return o.value; }) });
      } else {
        fields.push({ name: element.name, value: element.value });
      }
    });
    try {
      sessionStorage.setItem(KEY, JSON.stringify({
        page: location.pathname + location.search,
        action: action(form),
        nth: sameAction(action(form)).indexOf(form), // among the page's forms to that address
        at: Date.now(),
        fields: fields,
      }));
    } catch (_error) { /* storage full or refused: the form is sent all the same */ }
  }, true);

  function restore() {
    var saved;
    try {
      saved = JSON.parse(sessionStorage.getItem(KEY) || "null");
      sessionStorage.removeItem(KEY);
    } catch (_error) { return; }
    if (!saved || Date.now() - saved.at > MAX_AGE_MS) return;
    if (saved.page !== location.pathname + location.search) return; // went elsewhere: done
    if (!document.querySelector("#flashes .flash-error")) return; // not refused
    var form = sameAction(saved.action)[saved.nth || 0];
    if (!form) return;
    saved.fields.forEach(function (field) {
      Array.prototype.forEach.call(form.elements, function (element) {
        if (element.name !== field.name || !kept(element)) return;
        var type = element.type.toLowerCase();
        if (type === "checkbox" || type === "radio") {
          if (element.value === field.value) element.checked = field.checked;
        } else if (field.values && element.options) {
          Array.prototype.forEach.call(element.options, function (o) {
            o.selected = field.values.indexOf(o.value) >= 0;
          });
        } else if (field.value !== undefined) {
          element.value = field.value;
        }
      });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", restore);
  else restore();
})();
