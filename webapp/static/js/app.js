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

// Shop: a typed quantity is saved when the field changes (the form still works without JS).
document.addEventListener("change", function (event) {
  var input = event.target;
  if (input.classList && input.classList.contains("qty-input") && input.form) {
    // A synthetic submit reaches htmx's boosted-form handler and never submits natively;
    // requestSubmit() did both in Chromium after a reload.
    if (window.htmx) {
      window.htmx.trigger(input.form, "submit");
    } else {
      input.form.requestSubmit();
    }
  }
});
