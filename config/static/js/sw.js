// Rapport's service worker (served as /sw.js by config/pwa.py). It shows notifications (below) and keeps one page, /offline/, and shows
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

// Web Push (chats/notifications/): show what the server sent; it holds no message text unless the
// server allows it. The payload is {title, body, tag, url, kind}; a newer one with the same tag
// replaces the older on the lock screen.
self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = {}; }
  var title = data.title || "Rapport";
  event.waitUntil(self.registration.showNotification(title, {
    body: data.body || "",
    tag: data.tag || undefined,
    renotify: Boolean(data.tag),
    icon: "/static/icons/icon-192.png",
    badge: "/static/icons/icon-192.png",
    data: { url: data.url || "/chats/" }
  }));
});

// A tap opens the thread: a Rapport window already open is focused and sent there, else a new one opens.
self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = new URL((event.notification.data && event.notification.data.url) || "/chats/", self.location.origin);
  if (url.origin !== self.location.origin) url = new URL("/chats/", self.location.origin);
  event.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (windows) {
    for (var i = 0; i < windows.length; i++) {
      var client = windows[i];
      if (new URL(client.url).origin === url.origin && "focus" in client) {
        return client.focus().then(function (focused) {
          return focused && focused.url !== url.href && "navigate" in focused ? focused.navigate(url.href) : focused;
        });
      }
    }
    return self.clients.openWindow(url.href);
  }));
});
