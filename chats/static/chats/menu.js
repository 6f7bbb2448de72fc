/* All Actions menus: a button that opens a list of actions. Escape or a click elsewhere closes it. */
(function () {
  "use strict";
  function close(menu, focusButton) {
    var button = menu.querySelector("[data-menu-button]");
    var list = menu.querySelector("[role=menu]");
    button.setAttribute("aria-expanded", "false");
    list.hidden = true;
    if (focusButton) button.focus();
  }
  document.querySelectorAll("[data-menu]").forEach(function (menu) {
    var button = menu.querySelector("[data-menu-button]");
    var list = menu.querySelector("[role=menu]");
    button.addEventListener("click", function () {
      var open = button.getAttribute("aria-expanded") === "true";
      document.querySelectorAll("[data-menu]").forEach(function (m) { close(m, false); });
      if (!open) {
        button.setAttribute("aria-expanded", "true");
        list.hidden = false;
        var first = list.querySelector("[role=menuitem]");
        if (first) first.focus();
      }
    });
    menu.addEventListener("keydown", function (event) {
      var items = Array.prototype.slice.call(list.querySelectorAll("[role=menuitem]"));
      var index = items.indexOf(document.activeElement);
      if (event.key === "Escape") { close(menu, true); }
      else if (event.key === "ArrowDown" && index >= 0) { event.preventDefault(); items[(index + 1) % items.length].focus(); }
      else if (event.key === "ArrowUp" && index >= 0) { event.preventDefault(); items[(index - 1 + items.length) % items.length].focus(); }
    });
  });
  document.addEventListener("click", function (event) {
    document.querySelectorAll("[data-menu]").forEach(function (menu) {
      if (!menu.contains(event.target)) close(menu, false);
    });
  });
})();
