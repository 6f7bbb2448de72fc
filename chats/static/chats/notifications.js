/* Notifications on this device (Web Push; docs/webchat.md, "Notifications").
   The browser's permission prompt comes only from the button, never on page load. On: ask for
   permission, subscribe with the server's VAPID public key, hand the subscription to the server.
   Off: unsubscribe here and there. Every way it can fail says so in words next to the button. */
(function () {
  "use strict";
  var root = document.getElementById("push");
  if (!root) return;
  var button = root.querySelector("[data-push-button]");
  var status = root.querySelector("[data-push-status]");
  var supported = "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
  var publicKey = null;  // the server's key; the button is shown only once it is known
  var on = false, busy = false;

  var _ = window.gettext || function (text) { return text; };  // Django's JavaScript catalogue (/jsi18n/)
  var TEXT = {
    on: _("Turn off notifications on this device"),
    off: _("Turn on notifications on this device"),
    unsupported: _("This browser cannot show notifications from Rapport. On iPhone and iPad, add Rapport to " +
      "the Home Screen (Share, then Add to Home Screen) and turn them on from there."),
    blocked: _("Notifications are blocked for Rapport in this browser. Allow them in the browser's site " +
      "settings, then try again."),
    dismissed: _("Notifications were not allowed, so they stay off on this device."),
    failed: _("This browser could not turn on notifications (its push service did not answer). " +
      "They stay off on this device; try again later."),
    saved: _("Notifications are on for this device."),
    removed: _("Notifications are off on this device."),
    network: _("Could not reach Rapport; check the connection and try again.")
  };

  function say(text, kind) { status.textContent = text; status.dataset.kind = kind || ""; }
  function show(isOn) {
    on = isOn;
    button.textContent = isOn ? TEXT.on : TEXT.off;
    button.setAttribute("aria-pressed", isOn ? "true" : "false");
  }

  // The web chat's API helper (chat.js, loaded before this file): JSON both ways, the CSRF token, and an
  // Error carrying the server's `detail` and `status` when the answer is not a success.
  var api = window.Rapport.api;

  function keyBytes(base64url) {
    var padded = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = window.atob(padded), bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function registration() {
    // The same worker register-sw.js installs, at the same address (with the page's language, for its
    // offline page); registering again returns it.
    var lang = encodeURIComponent(document.documentElement.lang || "");
    return navigator.serviceWorker.register("/sw.js" + (lang ? "?lang=" + lang : ""))
      .then(function () { return navigator.serviceWorker.ready; });
  }

  function askPermission() {
    // Called straight from the click (a user gesture); older Safari takes a callback instead of a promise.
    return new Promise(function (resolve) {
      var answer = Notification.requestPermission(resolve);
      if (answer && typeof answer.then === "function") answer.then(resolve, function () { resolve("denied"); });
    });
  }

  function save(subscription) {
    return api("POST", "push/subscribe/", subscription.toJSON()).catch(function (error) {
      if (error.status) subscription.unsubscribe().catch(function () {});  // the server refused it
      throw error;
    });
  }

  function turnOn() {
    if (Notification.permission === "denied") { say(TEXT.blocked, "error"); return Promise.resolve(); }
    return askPermission().then(function (permission) {
      if (permission !== "granted") {
        say(permission === "denied" ? TEXT.blocked : TEXT.dismissed, "error");
        return null;
      }
      return registration().then(function (reg) {
        return reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(publicKey) });
      }).then(function (subscription) {
        return save(subscription).then(function () { show(true); say(TEXT.saved, "ok"); });
      }, function () { say(TEXT.failed, "error"); });
    });
  }

  function turnOff() {
    return registration().then(function (reg) { return reg.pushManager.getSubscription(); }).then(function (sub) {
      if (!sub) return null;
      return api("POST", "push/unsubscribe/", { endpoint: sub.endpoint })
        .catch(function (error) { if (!error.status) throw error; })  // the server's refusal: off here all the same
        .then(function () { return sub.unsubscribe(); });
    }).then(function () { show(false); say(TEXT.removed, "ok"); });
  }

  button.addEventListener("click", function () {
    if (busy) return;
    if (!supported) { say(TEXT.unsupported, "error"); return; }
    busy = true;
    button.setAttribute("aria-busy", "true");
    (on ? turnOff() : turnOn()).catch(function (error) {
      say(error && error.message && error.message !== "Failed to fetch" ? error.message : TEXT.network, "error");
    }).then(function () { busy = false; button.removeAttribute("aria-busy"); });
  });

  // On load: learn whether the server sends push and whether this device is on already. Nothing here
  // asks for permission; a device that is on is handed to the server again (it may have forgotten it).
  show(false);
  api("GET", "push/key/").then(function (data) {
    publicKey = data && data.enabled ? data.public_key : "";
    // A server without VAPID keys sends no push: nothing for a rep to turn on, so no button (it stays hidden).
    if (!publicKey) return;
    root.hidden = false;
    if (!supported || Notification.permission !== "granted") return;
    registration().then(function (reg) { return reg.pushManager.getSubscription(); }).then(function (sub) {
      if (sub) return save(sub).then(function () { show(true); });
    }).catch(function () { /* stays shown as off */ });
  }, function () { /* the key could not be read: no button on this page */ });
})();
