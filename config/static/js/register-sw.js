// Install Rapport's service worker (config/static/js/sw.js): the offline page when the network is gone.
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js").catch(function () { /* an older browser: the app works without it */ });
}
