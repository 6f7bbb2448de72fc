// "Install app" in the top bar, shown only where installing is possible and Rapport is not installed yet:
// Chromium offers its own prompt (beforeinstallprompt), which the button opens; Safari on iPhone and iPad
// has none, so there the button explains Share → Add to Home Screen. Never shown on page load by itself.
(function () {
  "use strict";
  var button = document.querySelector("[data-install-app]");
  var help = document.querySelector("[data-install-help]");
  if (!button) return;
  var standalone = window.matchMedia("(display-mode: standalone)").matches || navigator.standalone === true;
  if (standalone) return;
  var ios = /iPhone|iPad|iPod/.test(navigator.userAgent) ||
    (navigator.platform === "MacIntel" && navigator.maxTouchPoints > 1);  // iPadOS asks for the desktop site
  var offered = null;

  window.addEventListener("beforeinstallprompt", function (event) {
    event.preventDefault();  // no mini-infobar: the rep installs from the button, when they choose
    offered = event;
    button.hidden = false;
  });
  window.addEventListener("appinstalled", function () { button.hidden = true; offered = null; });
  if (ios && help && typeof help.showModal === "function") button.hidden = false;

  button.addEventListener("click", function () {
    if (offered) {
      var prompt = offered;
      offered = null;
      prompt.prompt();  // a prompt is good once; if the rep declines, the browser may offer again later
      button.hidden = true;
    } else if (ios && help) {
      help.showModal();
    }
  });
})();
