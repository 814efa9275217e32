// Turn web push on for this device: permission, subscribe in the service worker, then
// POST the subscription JSON to the server. A test message proves the round trip.
(function () {
  "use strict";
  var state = document.getElementById("push-state");
  if (!state) return;
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  function say(key) { state.textContent = state.dataset[key]; }
  function toKey(base64) {
    var padded = (base64 + "===".slice((base64.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(padded), out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }
  if (!("serviceWorker" in navigator) || !("PushManager" in window)) { say("unsupported"); return; }
  navigator.serviceWorker.register("/sw.js", { scope: "/" });
  navigator.serviceWorker.ready.then(function (reg) { return reg.pushManager.getSubscription(); })
    .then(function (sub) { say(sub ? "on" : (Notification.permission === "denied" ? "denied" : "off")); });

  document.getElementById("push-on").addEventListener("click", async function () {
    try {
      if ((await Notification.requestPermission()) !== "granted") { say("denied"); return; }
      var reg = await navigator.serviceWorker.ready;
      var key = (await (await fetch(state.dataset.keyUrl)).json()).publicKey;
      var sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: toKey(key) });
      var response = await fetch(state.dataset.saveUrl, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify(sub.toJSON()),
      });
      say(response.ok ? "on" : "failed");
    } catch (e) {
      say("unsupported");
    }
  });
  document.getElementById("push-test").addEventListener("click", async function () {
    var response = await fetch(state.dataset.testUrl, { method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrf } });
    // The message is queued and the sender delivers it at once (outbox).
    var answer = response.ok ? await response.json() : { queued: 0 };
    say(answer.queued ? "sent" : "failed");
  });
})();
