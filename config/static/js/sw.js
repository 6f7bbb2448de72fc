// Rapport's service worker (served as /sw.js by config/pwa.py). It keeps one page, /offline/, and shows
// it when a navigation cannot reach the server; everything else goes to the network as usual, so
// conversations are never served stale from a cache.
var CACHE = "rapport-offline-v1";
// The language of the pages that installed it (register-sw.js): the offline page speaks it too.
var LANG = new URL(self.location.href).searchParams.get("lang") || "";
var OFFLINE_URL = "/offline/" + (LANG ? "?lang=" + encodeURIComponent(LANG) : "");

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.add(new Request(OFFLINE_URL, { cache: "reload" })); }));
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n !== CACHE; }).map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  if (event.request.mode !== "navigate") return;
  event.respondWith(fetch(event.request).catch(function () {
    return caches.open(CACHE).then(function (cache) { return cache.match(OFFLINE_URL); });
  }));
});
