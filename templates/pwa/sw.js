// Court-circuit service worker, version {{ version }}.
// - precaches what the offline distribution sheet needs (hashed URLs);
// - serves /distributions/<id>/sheet network-first, from the cache when offline or when
//   the server does not answer;
// - static files cache-first (their URLs change with their content);
// - replays the sheet's outbox on Background Sync (Chromium).
"use strict";
var VERSION = "{{ version }}";
var STATIC_CACHE = "cc-static-" + VERSION;
var PAGES_CACHE = "cc-pages";
var PRECACHE = {{ assets|tojson }};
var OFFLINE_URL = {{ offline|tojson }};
var SHEET_PAGE = /^\/distributions\/\d+\/sheet$/;
var NETWORK_TIMEOUT_MS = 4000;

importScripts({{ idb|tojson }}, {{ store|tojson }});

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(STATIC_CACHE).then(function (cache) { return cache.addAll(PRECACHE.concat([OFFLINE_URL])); })
      .then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (keys) {
      return Promise.all(keys.filter(function (k) { return k.indexOf("cc-static-") === 0 && k !== STATIC_CACHE; })
        .map(function (k) { return caches.delete(k); }));
    }).then(function () { return self.clients.claim(); })
  );
});

function withTimeout(promise, ms) {
  return new Promise(function (resolve, reject) {
    var timer = setTimeout(function () { reject(new Error("timeout")); }, ms);
    promise.then(function (r) { clearTimeout(timer); resolve(r); }, function (e) { clearTimeout(timer); reject(e); });
  });
}

function sheetPage(request) {
  var url = new URL(request.url);
  var key = url.origin + url.pathname;
  return withTimeout(fetch(request), NETWORK_TIMEOUT_MS).then(function (response) {
    if (response.ok) {
      var copy = response.clone();
      caches.open(PAGES_CACHE).then(function (cache) { cache.put(key, copy); });
      return response;
    }
    return caches.match(key).then(function (cached) { return cached || response; });
  }).catch(function () {
    return caches.match(key).then(function (cached) { return cached || caches.match(OFFLINE_URL); });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && SHEET_PAGE.test(url.pathname)) {
    event.respondWith(sheetPage(request));
  } else if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(caches.match(request).then(function (cached) {
      return cached || fetch(request).then(function (response) {
        if (response.ok && url.searchParams.get("v")) {
          var copy = response.clone();
          caches.open(STATIC_CACHE).then(function (cache) { cache.put(request, copy); });
        }
        return response;
      });
    }));
  } else if (request.mode === "navigate") {
    event.respondWith(fetch(request).catch(function () { return caches.match(OFFLINE_URL); }));
  }
});

self.addEventListener("sync", function (event) {
  if (event.tag.indexOf("sheet-sync") === 0) {
    event.waitUntil(self.SheetStore.syncAll().then(function () {
      return self.clients.matchAll().then(function (clients) {
        clients.forEach(function (c) { c.postMessage({ type: "sheet-synced" }); });
      });
    }));
  }
});

// Web push: show the message; a tap opens the page it is about. The tag comes from the
// message's outbox key: a message sent again (the sender died before recording it) replaces
// the one already shown instead of showing twice.
self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = { body: event.data ? event.data.text() : "" }; }
  event.waitUntil(self.registration.showNotification(data.title || "Court-circuit", {
    body: data.body || "", icon: PRECACHE.find(function (u) { return u.indexOf("icon.svg") >= 0; }),
    data: { url: data.url || "/" }, tag: data.tag || data.url || "court-circuit",
  }));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = new URL((event.notification.data && event.notification.data.url) || "/", self.location.origin).href;
  event.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (clients) {
    for (var i = 0; i < clients.length; i++) {
      if (clients[i].url === url && "focus" in clients[i]) return clients[i].focus();
    }
    return self.clients.openWindow(url);
  }));
});
