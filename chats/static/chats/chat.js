/* Rapport web chat, part 1: the API helper, the live socket, the chat list and the account search.
   Plain JavaScript, no build step. The thread screen is in thread.js, which uses window.Rapport. */
(function () {
  "use strict";
  var app = document.getElementById("chat-app");
  if (!app) return;

  // --- API ----------------------------------------------------------------------
  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function api(method, path, body) {
    var headers = { Accept: "application/json" };
    if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(path.indexOf("/") === 0 || path.indexOf("http") === 0 ? path : "/api/v1/" + path, {
      method: method, credentials: "same-origin", headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (data) {
        if (!response.ok) {
          var error = new Error((data && data.detail) || fill(_("The server answered %(status)s."), { status: response.status }));
          error.status = response.status;
          error.code = data && data.code;
          error.data = data;
          throw error;
        }
        return data;
      });
    });
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  // --- translations and dates -----------------------------------------------------
  // gettext, ngettext and interpolate come from Django's JavaScript catalog (/jsi18n/, loaded by
  // base.html before this script); without it the English texts stand.
  var _ = window.gettext || function (text) { return text; };
  var ngettext = window.ngettext || function (one, many, n) { return n === 1 ? one : many; };
  var interpolate = window.interpolate || function (format, values, named) {
    return named ? format.replace(/%\((\w+)\)s/g, function (all, key) { return String(values[key]); })
      : format.replace(/%s/g, function () { return String(values.shift()); });
  };
  function fill(format, values) { return interpolate(format, values, true); }

  // One set of formats for every date and time the chat shows (bubbles, the chat list, banners): the
  // page's language in the browser's own variant of it when it has one (en-GB, fr-CA), so its own
  // 12- or 24-hour clock; always in the browser's time zone.
  var pageLang = document.documentElement.lang || "en";
  var locale = (navigator.languages || [navigator.language]).filter(function (tag) {
    return tag && tag.toLowerCase().split("-")[0] === pageLang.toLowerCase().split("-")[0];
  })[0] || pageLang;
  var FORMATS = {
    time: { hour: "numeric", minute: "2-digit" },
    weekday: { weekday: "short" },
    weekdayLong: { weekday: "long" },
    dayMonth: { day: "numeric", month: "short" },
    date: { day: "numeric", month: "short", year: "2-digit" },
  };
  var formatters = {};
  function format(name, date) {
    if (!formatters[name]) formatters[name] = new Intl.DateTimeFormat(locale, FORMATS[name]);
    return formatters[name].format(date);
  }

  function dayDiff(date) {
    var today = new Date(); today.setHours(0, 0, 0, 0);
    var day = new Date(date); day.setHours(0, 0, 0, 0);
    return Math.round((today - day) / 86400000);
  }

  // A message's time, like a phone: 14:03 today, "Yesterday 14:03", "Mon 14:03" this week, else a date.
  function clock(iso) {
    if (!iso) return "";
    var date = new Date(iso), days = dayDiff(date), time = format("time", date);
    if (days <= 0 && days > -1) return time;
    if (days === 1) return fill(_("Yesterday %(time)s"), { time: time });
    if (days < 7 && days > -7) return fill(_("%(day)s %(time)s"), { day: format("weekday", date), time: time });
    return fill(_("%(day)s %(time)s"), { day: format("dayMonth", date), time: time });
  }

  // A moment ahead (a window's expiry): its weekday and time.
  function moment(iso) {
    var date = new Date(iso);
    return fill(_("%(day)s %(time)s"), { day: format("weekday", date), time: format("time", date) });
  }

  // The chat list's short form: the time today, else only the day.
  function when(iso) {
    if (!iso) return "";
    var date = new Date(iso), days = dayDiff(date);
    if (days <= 0) return format("time", date);
    if (days === 1) return _("Yesterday");
    if (days < 7) return format("weekdayLong", date);
    return format("date", date);
  }

  function initial(name) {
    return (name || "?").replace(/^dr\.?\s*/i, "").charAt(0).toUpperCase() || "?";
  }

  var threadId = app.dataset.thread ? Number(app.dataset.thread) : null;
  var R = window.Rapport = {
    api: api, uuid: uuid, el: el, clock: clock, when: when, moment: moment, _: _, ngettext: ngettext, fill: fill,
    threadId: threadId, handlers: [], resyncs: [],
    log: [], // every live event applied, for tests and debugging
  };

  // --- chat list ----------------------------------------------------------------
  var list = document.getElementById("thread-list");
  // The server wrote these in its own time zone: rewrite them in the reader's.
  if (list) list.querySelectorAll("time[datetime]").forEach(function (t) { t.textContent = when(t.getAttribute("datetime")); });
  var empty = document.getElementById("threads-empty");
  var compose = document.getElementById("compose");

  function threadItem(thread) {
    var li = el("li", "thread-item" + (thread.id === threadId ? " is-open" : ""));
    li.dataset.thread = thread.id;
    li.setAttribute("data-testid", "thread-item");
    var a = el("a", "thread-item__link");
    a.href = "/chats/" + thread.id + "/";
    if (thread.id === threadId) a.setAttribute("aria-current", "page");
    var avatar = el("span", "avatar", initial(thread.account.name));
    avatar.setAttribute("aria-hidden", "true");
    var main = el("span", "thread-item__main");
    main.appendChild(el("span", "thread-item__name", thread.account.name));
    var last = thread.last_message;
    main.appendChild(el("span", "thread-item__last", last
      ? (last.direction === "outbound" ? _("You:") + " " : "") + (last.body_preview || "") : _("No messages yet")));
    var meta = el("span", "thread-item__meta");
    if (thread.last_activity_at) {
      var time = el("time", null, when(thread.last_activity_at));
      time.setAttribute("datetime", thread.last_activity_at);
      meta.appendChild(time);
    }
    var unread = el("span", "unread");
    unread.appendChild(el("span", "visually-hidden", _("Unread:") + " "));
    unread.appendChild(el("span", "unread__n", String(thread.unread_count || 0)));
    unread.hidden = !thread.unread_count;
    meta.appendChild(unread);
    a.appendChild(avatar); a.appendChild(main); a.appendChild(meta);
    li.appendChild(a);
    return li;
  }

  function reloadThreadList() {
    return api("GET", "threads/?limit=50").then(function (page) {
      list.textContent = "";
      page.results.forEach(function (thread) { list.appendChild(threadItem(thread)); });
      empty.hidden = page.results.length > 0;
      compose.textContent = page.results.length ? _("Compose Chat") : _("Start New Chat");
    });
  }

  function setUnread(item, count) {
    var badge = item.querySelector(".unread");
    badge.querySelector(".unread__n").textContent = String(count);
    badge.hidden = count === 0;
  }
  R.setUnread = function (id, count) {
    var item = list.querySelector('[data-thread="' + id + '"]');
    if (item) setUnread(item, count);
  };

  function onMessageCreated(threadOf, message) {
    var item = list.querySelector('[data-thread="' + threadOf + '"]');
    if (!item) { reloadThreadList(); return; }
    item.querySelector(".thread-item__last").textContent =
      (message.direction === "outbound" ? _("You:") + " " : "") + (message.body || "").slice(0, 120);
    var meta = item.querySelector(".thread-item__meta");
    var time = meta.querySelector("time");
    if (!time) { time = el("time"); meta.insertBefore(time, meta.firstChild); }
    // The list shows the thread's latest activity as the server keeps it (last_activity_at): when the
    // message was written, as its bubble says, and never moving back: a message Meta delivers late,
    // written before the newest one, leaves the time alone.
    var at = message.written_at || message.created_at, shown = time.getAttribute("datetime");
    var newer = at && (!shown || new Date(at) >= new Date(shown));
    if (newer) {
      time.textContent = when(at);
      time.setAttribute("datetime", at);
    }
    if (message.direction === "inbound" && (threadOf !== threadId || document.hidden)) {
      setUnread(item, Number(item.querySelector(".unread__n").textContent || 0) + 1);
    }
    if (newer && list.firstElementChild !== item) list.insertBefore(item, list.firstElementChild);
  }

  // --- live socket --------------------------------------------------------------
  var live = document.getElementById("live-status");
  var socket = null, attempts = 0, helloSeen = false, pingTimer = null, retryTimer = null, stopped = false;

  function setLive(stateName, text) {
    live.dataset.state = stateName;
    live.textContent = text;
  }

  function handle(event) {
    if (event.type === "hello") {
      attempts = 0;
      setLive("live", _("Live updates on"));
      R.serverTime = event.server_time;
      if (helloSeen) { // a reconnect: re-read what may have changed while the socket was down
        reloadThreadList();
        R.resyncs.forEach(function (fn) { fn(); });
      }
      helloSeen = true;
      return;
    }
    if (event.type === "pong" || event.type === "error") return;
    var threadOf = event.thread !== undefined ? event.thread : event.thread_id;
    R.log.push({ type: event.type, thread: threadOf, id: event.message && event.message.id,
                 status: event.message && event.message.status });
    if (event.type === "message.created" && event.message) onMessageCreated(threadOf, event.message);
    R.handlers.forEach(function (fn) { fn(event, threadOf); });
  }

  function connect() {
    if (stopped) return;
    setLive("connecting", helloSeen ? _("Reconnecting…") : _("Connecting…"));
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = R.socket = new WebSocket(scheme + location.host + "/ws/chat/", ["rapport.v1"]);
    socket.onmessage = function (message) {
      try { handle(JSON.parse(message.data)); } catch (error) { console.error(error); }
    };
    socket.onopen = function () {
      clearInterval(pingTimer);
      pingTimer = setInterval(function () {
        if (socket.readyState === 1) socket.send(JSON.stringify({ type: "ping" }));
      }, 25000);
    };
    socket.onclose = function (event) {
      clearInterval(pingTimer);
      if (event.code === 4401) { stopped = true; setLive("offline", _("Signed out: reload the page to sign in again.")); return; }
      if (event.code === 4403) { stopped = true; setLive("offline", _("Live updates need the Engage license.")); return; }
      // Exponential backoff with jitter: 1 s doubling to 30 s.
      var delay = Math.min(30000, 1000 * Math.pow(2, attempts)) * (0.5 + Math.random() / 2);
      attempts += 1;
      var seconds = Math.round(delay / 1000);
      setLive("offline", fill(ngettext("Offline: reconnecting in %(seconds)s second…", "Offline: reconnecting in %(seconds)s seconds…", seconds), { seconds: seconds }));
      retryTimer = setTimeout(connect, delay);
    };
  }
  R.reconnectNow = function () { clearTimeout(retryTimer); attempts = 0; connect(); };
  window.addEventListener("online", function () { if (!socket || socket.readyState > 1) R.reconnectNow(); });
  connect();

  // --- account search -----------------------------------------------------------
  var search = document.getElementById("account-search");
  var results = document.getElementById("search-results");
  var status = document.getElementById("search-status");
  var searchTimer = null, active = -1, searchSeq = 0;

  function closeResults() {
    results.hidden = true; search.setAttribute("aria-expanded", "false");
    search.removeAttribute("aria-activedescendant"); active = -1;
  }

  function openThread(accountId) {
    return api("POST", "threads/", { account: accountId }).then(function (thread) {
      location.href = "/chats/" + thread.id + "/";
    }).catch(function (error) { status.textContent = error.message; alert(error.message); });
  }

  function showResults(accounts) {
    results.textContent = "";
    accounts.forEach(function (account, index) {
      var option = el("li", "search__option");
      option.id = "search-option-" + index;
      option.setAttribute("role", "option");
      option.dataset.account = account.id;
      option.appendChild(el("span", "search__name", account.name));
      option.appendChild(el("span", "search__hint", account.has_thread ? _("You have a chat")
        : account.consent_status === "opted_in" ? _("New chat") : account.consent_status === "opted_out" ? _("Opted out") : _("Consent not captured")));
      option.addEventListener("mousedown", function (event) { event.preventDefault(); });
      option.addEventListener("click", function () { openThread(account.id); });
      results.appendChild(option);
    });
    if (!accounts.length) results.appendChild(el("li", "search__none", _("No accounts found")));
    results.hidden = false;
    search.setAttribute("aria-expanded", "true");
    status.textContent = fill(ngettext("%(count)s account found", "%(count)s accounts found", accounts.length), { count: accounts.length });
  }

  function runSearch() {
    var seq = ++searchSeq;
    api("GET", "accounts/?limit=20&search=" + encodeURIComponent(search.value.trim())).then(function (page) {
      // only the latest answer counts, and only while the search has the focus (Tab may have moved on)
      if (seq === searchSeq && document.activeElement === search) showResults(page.results);
    });
  }

  search.addEventListener("input", function () { clearTimeout(searchTimer); searchTimer = setTimeout(runSearch, 200); });
  search.addEventListener("focus", function () { if (results.hidden) runSearch(); });
  search.addEventListener("blur", function () { setTimeout(closeResults, 150); });
  search.addEventListener("keydown", function (event) {
    var options = results.querySelectorAll("[role=option]");
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!options.length) return;
      active = event.key === "ArrowDown" ? Math.min(options.length - 1, active + 1) : Math.max(0, active - 1);
      options.forEach(function (o, i) { o.setAttribute("aria-selected", i === active ? "true" : "false"); });
      search.setAttribute("aria-activedescendant", options[active].id);
      options[active].scrollIntoView({ block: "nearest" });
    } else if (event.key === "Enter" && active >= 0 && options[active]) {
      event.preventDefault(); openThread(Number(options[active].dataset.account));
    } else if (event.key === "Escape") { closeResults(); }
  });
  compose.addEventListener("click", function () { search.focus(); runSearch(); });
})();
