// Install Rapport's service worker (config/static/js/sw.js): the offline page when the network is gone.
// The page's language is in the worker's address, so a new language installs it again with the
// offline page in that language.
if ("serviceWorker" in navigator) {
  var lang = encodeURIComponent(document.documentElement.lang || "");
  navigator.serviceWorker.register("/sw.js" + (lang ? "?lang=" + lang : ""))
    .catch(function () { /* an older browser: the app works without it */ });
}
