/* Rapport web chat, part 2: the open thread. Messages and ticks, banners from `state`, quick
   templates, the composer with restricted-phrase highlighting and the typing indicator, templates,
   media, reply/copy, end. */
(function () {
  "use strict";
  var R = window.Rapport;
  var root = document.getElementById("thread");
  if (!R || !root || !R.threadId) return;
  var api = R.api, el = R.el, threadId = R.threadId, _ = R._, ngettext = R.ngettext, fill = R.fill;
  var detail = JSON.parse(document.getElementById("thread-data").textContent);
  var state = detail.state;
  var accountId = Number(root.dataset.account);
  var $ = function (id) { return document.getElementById(id); };
  var list = $("messages"), footError = $("foot-error");

  // --- messages -----------------------------------------------------------------
  var RANK = { queued: 0, sent: 1, delivered: 2, read: 3 };
  var byId = new Map(), pending = new Map(); // id → message; client_id → optimistic message
  var TICKS = {
    queued: [_("Queued"), '<svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true"><circle cx="8" cy="8" r="6.5" fill="none" stroke="currentColor" stroke-width="1.5"/><path d="M8 4.5V8l2.5 1.5" fill="none" stroke="currentColor" stroke-width="1.5" stroke-linecap="round"/></svg>'],
    sent: [_("Sent"), '<svg viewBox="0 0 16 16" width="16" height="14" aria-hidden="true"><path d="M2.5 8.5l3.5 3.5 7-8" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round"/></svg>'],
    delivered: [_("Delivered"), '<svg viewBox="0 0 20 16" width="20" height="14" aria-hidden="true"><path d="M1.5 8.5l3.5 3.5 7-8M8 11l1 1 7-8" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round"/></svg>'],
    failed: [_("Not sent"), '<svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true"><circle cx="8" cy="8" r="7" fill="currentColor"/><path d="M8 4v5M8 11.2v.3" stroke="#fff" stroke-width="1.8" stroke-linecap="round"/></svg>'],
  };
  TICKS.read = [_("Read"), TICKS.delivered[1]];

  function threadOf(m) { return m.thread !== undefined ? m.thread : m.thread_id; }

  function quoteOf(m) {
    if (m.reply_to && typeof m.reply_to === "object") return m.reply_to;
    var id = m.reply_to_id || (typeof m.reply_to === "number" ? m.reply_to : null);
    if (!id) return null;
    var quoted = byId.get(id);
    return { id: id, direction: quoted ? quoted.direction : "", quote: quoted ? quoted.body.replace(/\s+/g, " ").slice(0, 80) : _("Earlier message") };
  }

  function bubble(m) {
    var li = el("li", "msg msg--" + (m.kind === "system" ? "system" : m.direction === "inbound" ? "in" : "out"));
    li.dataset.id = m.id || "";
    if (m.client_id) li.dataset.client = m.client_id;
    li.setAttribute("data-testid", "message");
    var b = el("div", "bubble");
    b.tabIndex = 0;
    b.setAttribute("aria-describedby", "bubble-hint");
    var quote = quoteOf(m);
    if (quote) {
      var q = el("blockquote", "bubble__quote");
      q.appendChild(el("span", "bubble__quote-who", quote.direction === "inbound" ? detail.account.name : _("You")));
      q.appendChild(el("span", "bubble__quote-text", quote.quote));
      b.appendChild(q);
    }
    var templateName = (m.template && (m.template.display_name || m.template.name)) || m.template_label;
    if (m.kind === "template" && templateName) {
      b.appendChild(el("span", "bubble__tag", fill(_("Template · %(name)s"), { name: templateName })));
    } else if (m.kind === "media_link") {
      b.appendChild(el("span", "bubble__tag", _("Media link")));
    }
    if (m.kind === "inbound_media") {
      b.appendChild(el("div", "media"));
      var caption = el("p", "bubble__body", (m.media && m.media.caption) || "");
      caption.hidden = !caption.textContent;
      b.appendChild(caption);
    } else {
      b.appendChild(el("p", "bubble__body", m.body));
      richContent(b, m);
    }
    var meta = el("span", "bubble__meta");
    var time = el("time", null, R.clock(m.written_at || m.created_at || new Date().toISOString()));
    meta.appendChild(time);
    if (m.direction === "outbound") {
      var ticks = el("span", "ticks");
      ticks.setAttribute("role", "img");
      meta.appendChild(ticks);
    }
    b.appendChild(meta);
    b.appendChild(el("p", "bubble__failed"));
    b.appendChild(safetyMark());
    // Reply, Copy and React without a long press or a right-click: a button of its own per bubble.
    var actions = el("button", "bubble__react bubble__actions", "⋯");
    actions.type = "button";
    actions.setAttribute("aria-label", _("Message actions"));
    actions.setAttribute("aria-haspopup", "menu");
    actions.setAttribute("aria-expanded", "false");
    actions.setAttribute("data-testid", "react-button");
    b.appendChild(actions);
    b.appendChild(el("div", "reactions"));
    li.appendChild(b);
    paint(li, m);
    return li;
  }

  // A shared location links to the map; contact cards show each person (docs/webchat.md).
  function richContent(b, m) {
    var media = m.media || {};
    if (m.kind === "location" && media.map_url) {
      var link = el("a", "bubble__link", _("Open in Maps"));
      link.href = media.map_url; link.target = "_blank"; link.rel = "noopener noreferrer";
      link.setAttribute("data-testid", "map-link");
      b.appendChild(link);
    } else if (m.kind === "contacts" && media.contacts && media.contacts.length) {
      b.querySelector(".bubble__body").hidden = true; // the cards say it better than the summary
      media.contacts.forEach(function (c) {
        var card = el("div", "contact-card");
        card.setAttribute("data-testid", "contact-card");
        card.appendChild(el("strong", "contact-card__name", c.name || _("(no name)")));
        if (c.org) card.appendChild(el("span", "contact-card__line", c.org));
        (c.phones || []).forEach(function (p) {
          var a = el("a", "contact-card__line", p.phone + (p.type ? " · " + p.type.toLowerCase() : ""));
          a.href = "tel:" + p.phone.replace(/[^+\d]/g, "");
          card.appendChild(a);
        });
        (c.emails || []).forEach(function (e) {
          var a = el("a", "contact-card__line", e.email);
          a.href = "mailto:" + e.email;
          card.appendChild(a);
        });
        b.appendChild(card);
      });
    }
  }

  // Reactions under the bubble: the HCP's and the rep's, as the server last said (`message.reaction`).
  function paintReactions(li, m) {
    var box = li.querySelector(".reactions");
    if (!box) return;
    box.textContent = "";
    (m.reactions || []).forEach(function (r) {
      var mine = r.by.type === "rep";
      var chip = el("span", "reaction" + (r.status === "failed" ? " reaction--failed" : ""), r.emoji);
      chip.setAttribute("data-testid", "reaction");
      chip.setAttribute("data-by", r.by.type);
      var who = mine ? _("You") : r.by.name;
      chip.title = r.status === "failed"
        ? fill(_("%(who)s — not sent: %(reason)s"), { who: who, reason: r.failure_reason || _("unknown reason") }) : who;
      box.appendChild(chip);
    });
    li.classList.toggle("msg--reacted", !!(m.reactions && m.reactions.length));
  }

  // An HCP's file: a placeholder while Rapport fetches it, then the photo (tap for full size), a
  // player, or a download link; a readable reason when it could not be fetched.
  var MEDIA_NAMES = { image: _("Photo"), sticker: _("Sticker"), video: _("Video"), audio: _("Audio message"), document: _("Document") };

  function fileSize(bytes) {
    if (!bytes && bytes !== 0) return "";
    if (bytes < 1024) return fill(_("%(size)s B"), { size: bytes });
    if (bytes < 1024 * 1024) return fill(_("%(size)s KB"), { size: Math.round(bytes / 1024) });
    return fill(_("%(size)s MB"), { size: (bytes / 1024 / 1024).toLocaleString(document.documentElement.lang || undefined, { maximumFractionDigits: 1, minimumFractionDigits: 1 }) });
  }

  function paintMedia(li, m) {
    var box = li.querySelector(".media"), media = m.media;
    if (!box || !media || box.dataset.status === media.status) return;
    box.dataset.status = media.status;
    box.className = "media media--" + media.status + " media--" + media.type;
    box.textContent = "";
    box.removeAttribute("role");
    var name = media.voice ? _("Voice message") : MEDIA_NAMES[media.type] || _("File");
    if (media.status === "pending") {
      box.setAttribute("role", "status");
      box.setAttribute("data-testid", "media-pending");
      box.appendChild(el("span", "media__label", fill(_("%(name)s arriving…"), { name: name })));
    } else if (media.status === "failed") {
      box.setAttribute("data-testid", "media-failed");
      box.appendChild(el("span", "media__label", fill(_("%(name)s not available: %(reason)s"), { name: name, reason: media.failure || _("unknown reason") })));
    } else if (media.type === "image" || media.type === "sticker") {
      var link = el("a", "media__open");
      link.href = media.url; link.target = "_blank"; link.rel = "noopener";
      link.setAttribute("aria-label", media.caption ? fill(_("%(name)s: %(caption)s (open full size)"), { name: name, caption: media.caption })
        : fill(_("%(name)s (open full size)"), { name: name }));
      var img = el("img", "media__image");
      img.src = media.url; img.alt = media.caption || fill(_("%(name)s from %(hcp)s"), { name: name, hcp: detail.account.name });
      img.setAttribute("data-testid", "media-image");
      link.appendChild(img);
      box.appendChild(link);
    } else if (media.type === "video" || media.type === "audio") {
      var player = el(media.type, "media__player");
      player.controls = true; player.preload = "metadata"; player.src = media.url;
      if (media.type === "video") player.setAttribute("playsinline", "");
      player.setAttribute("aria-label", name);
      player.setAttribute("data-testid", "media-" + media.type);
      box.appendChild(player);
    } else {
      var doc = el("a", "media__doc");
      doc.href = media.url; doc.setAttribute("download", media.filename || "");
      doc.setAttribute("data-testid", "media-document");
      doc.appendChild(el("span", "media__doc-icon", "📄"));
      doc.appendChild(el("span", "media__doc-name", media.filename || name));
      doc.appendChild(el("span", "media__doc-size", fileSize(media.size)));
      box.appendChild(doc);
    }
  }

  function paint(li, m) {
    paintMedia(li, m);
    var ticks = li.querySelector(".ticks");
    if (ticks) {
      var t = TICKS[m.status] || TICKS.queued;
      ticks.className = "ticks ticks--" + m.status;
      ticks.setAttribute("aria-label", t[0]);
      ticks.setAttribute("data-status", m.status);
      ticks.innerHTML = t[1];
    }
    var failed = li.querySelector(".bubble__failed");
    failed.hidden = m.status !== "failed";
    failed.textContent = m.status === "failed" ? fill(_("Not sent: %(reason)s"), { reason: m.failure_reason || m.failure_code || _("unknown reason") }) : "";
    li.classList.toggle("msg--failed", m.status === "failed");
    paintReactions(li, m);
    paintSafety(li, m);
  }

  // A possible adverse event in the HCP's message (docs/safety.md): marked, with a way to add what the rep
  // knows; drug safety forwards or closes the case, never the rep.
  var SAFETY_TEXT = {
    open: _("Possible adverse event — sent to Drug Safety"),
    forwarded: _("Possible adverse event — forwarded to Drug Safety"),
    closed: _("Drug Safety found no adverse event")
  };

  function safetyMark() {
    var box = el("div", "bubble__safety");
    box.hidden = true;
    box.setAttribute("data-testid", "safety-mark");
    box.appendChild(el("span", "bubble__safety-text"));
    var note = el("button", "bubble__safety-note", _("Add a note"));
    note.type = "button";
    note.setAttribute("data-testid", "safety-note");
    box.appendChild(note);
    box.appendChild(el("span", "bubble__safety-done"));
    return box;
  }

  function paintSafety(li, m) {
    var box = li.querySelector(".bubble__safety");
    if (!box) return;
    var c = m.safety_case;
    box.hidden = !c;
    li.classList.toggle("msg--safety", !!c);
    if (!c) return;
    box.dataset.case = c.id;
    box.dataset.status = c.status;
    box.querySelector(".bubble__safety-text").textContent = "⚠ " + (SAFETY_TEXT[c.status] || SAFETY_TEXT.open);
    box.querySelector(".bubble__safety-note").hidden = c.status === "closed";
  }

  list.addEventListener("click", function (event) {
    var button = event.target.closest(".bubble__safety-note");
    if (!button) return;
    var box = button.closest(".bubble__safety"), done = box.querySelector(".bubble__safety-done");
    var note = window.prompt(_("What do you know of this adverse event? (patient, product, dose, dates) Drug Safety reads it with the case."));
    if (!note || !note.trim()) return;
    button.disabled = true;
    api("POST", "safety-cases/" + box.dataset.case + "/notes/", { note: note }).then(function () {
      done.textContent = _("Note added");
    }).catch(function (error) { done.textContent = error.message; })
      .then(function () { button.disabled = false; });
  });

  function merge(old, update) {
    // Statuses only move forward (queued < sent < delivered < read); failed stands on its own.
    var keep = old.status === "failed" || (update.status !== "failed" && (RANK[update.status] || 0) < (RANK[old.status] || 0));
    var merged = Object.assign({}, old);
    Object.keys(update).forEach(function (key) {
      if (update[key] !== undefined && update[key] !== null && !(keep && /^(status|.*_at|failure_.*)$/.test(key))) merged[key] = update[key];
    });
    // A file once ready (or failed) stays so, whatever order the events come in.
    if (old.media && update.media && old.media.status && old.media.status !== "pending" && update.media.status === "pending") merged.media = old.media;
    return merged;
  }

  // A thread is in the order its messages were written (WhatsApp's time for the HCP's).
  function writtenAt(m) { return new Date(m.written_at || m.created_at || Date.now()).getTime(); }

  function olderThanLoaded(m) {
    if (!earlierUrl || !(m.written_at || m.created_at)) return false;
    var oldest = oldestLoaded();
    return !!oldest && writtenAt(m) < writtenAt(oldest);
  }

  function shownMessage(node) {
    if (node.dataset.id) return byId.get(Number(node.dataset.id));
    var sending = node.dataset.client && pending.get(node.dataset.client);
    return sending ? sending.message : null; // a message still being sent: written now
  }

  // An HCP message that reaches us late goes where it was written, not at the end (nor below
  // what the rep is sending at this moment).
  function place(li, m) {
    var nodes = list.querySelectorAll(".msg");
    for (var i = nodes.length - 1; i >= 0; i--) {
      var shown = shownMessage(nodes[i]);
      if (!shown || writtenAt(shown) <= writtenAt(m)) {
        if (i === nodes.length - 1) list.appendChild(li); else nodes[i].after(li);
        return;
      }
    }
    if (nodes.length) nodes[0].before(li); else list.appendChild(li);
  }

  function nearBottom() { return list.scrollHeight - list.scrollTop - list.clientHeight < 80; }
  function toBottom() { list.scrollTop = list.scrollHeight; atBottom = true; }
  // The list's box changes with the banners, the footer (quick templates, composer, reply bar) and the
  // phone's keyboard: one that showed the newest message keeps showing it.
  var atBottom = true;
  list.addEventListener("scroll", function () { atBottom = nearBottom(); }, { passive: true });
  if (window.ResizeObserver) new ResizeObserver(function () { if (atBottom) toBottom(); }).observe(list);

  function upsert(m, clientId) {
    if (threadOf(m) !== undefined && Number(threadOf(m)) !== threadId) return;
    if (m.id && !byId.has(m.id) && olderThanLoaded(m)) return; // it arrives with its page, in its place
    var stick = nearBottom();
    clientId = clientId || m.client_id;
    var opt = clientId && pending.get(clientId);
    if (m.id && byId.has(m.id)) {
      var merged = merge(byId.get(m.id), m);
      byId.set(m.id, merged);
      paint(list.querySelector('[data-id="' + m.id + '"]'), merged);
      if (opt) { opt.el.remove(); pending.delete(clientId); }
      return;
    }
    if (opt) {
      var full = merge(Object.assign({}, opt.message, { status: "queued" }), m);
      byId.set(m.id, full);
      opt.el.replaceWith(bubble(full));
      pending.delete(clientId);
    } else {
      byId.set(m.id, m);
      if (m.id) place(bubble(m), m); else list.appendChild(bubble(m));
    }
    list.removeAttribute("data-empty");
    if (stick || m.direction === "outbound") toBottom();
  }

  // Newest page first (?latest=1); earlier pages come on demand through the `previous` cursor,
  // when the list is scrolled to the top or the "Load earlier messages" button is pressed.
  var PAGE = 50, earlierUrl = null, loadingEarlier = null, loaded = false;
  var earlierItem = $("earlier"), earlierButton = $("load-earlier");

  function setEarlier(url) {
    earlierUrl = url;
    earlierItem.hidden = !url;
    earlierButton.removeAttribute("aria-busy");
    earlierButton.textContent = _("Load earlier messages");
  }

  function oldestLoaded() {
    var first = list.querySelector(".msg[data-id]:not([data-id=''])");
    return first ? byId.get(Number(first.dataset.id)) : null;
  }

  function prepend(messages) {
    var fragment = document.createDocumentFragment();
    messages.forEach(function (m) {
      if (byId.has(m.id)) return;
      byId.set(m.id, m);
      fragment.appendChild(bubble(m));
    });
    list.insertBefore(fragment, earlierItem.nextSibling);
  }

  function loadEarlier() {
    if (!earlierUrl) return Promise.resolve();
    if (loadingEarlier) return loadingEarlier;
    // Not disabled while loading: a disabled button would drop the keyboard focus.
    earlierButton.setAttribute("aria-busy", "true");
    earlierButton.textContent = _("Loading earlier messages…");
    // Keep what the user is looking at in place: the rows grow above it by exactly this much.
    var fromBottom = list.scrollHeight - list.scrollTop;
    loadingEarlier = api("GET", earlierUrl).then(function (data) {
      prepend(data.results);
      list.scrollTop = list.scrollHeight - fromBottom;
      setEarlier(data.previous);
    }).catch(function (error) {
      setEarlier(earlierUrl);
      footError.textContent = fill(_("Could not load earlier messages: %(error)s"), { error: error.message });
    }).then(function () { loadingEarlier = null; fillView(); });
    return loadingEarlier;
  }

  function fillView() {
    // A short page may not fill the screen, and then there is no scroll to the top to ask for more.
    if (earlierUrl && !loadingEarlier && list.scrollHeight <= list.clientHeight + 8) loadEarlier();
  }

  earlierButton.addEventListener("click", function () {
    loadEarlier().then(function () {
      // Focus stays on the button while more remain; otherwise on the oldest message.
      if (earlierItem.hidden) { var first = list.querySelector(".msg .bubble"); if (first) first.focus(); }
      else earlierButton.focus();
    });
  });
  list.addEventListener("scroll", function () { if (list.scrollTop < 120) loadEarlier(); }, { passive: true });

  function loadMessages() {
    return api("GET", "threads/" + threadId + "/messages/?latest=1&page_size=" + PAGE).then(function (data) {
      var messages = data.results;
      var first = !loaded;
      loaded = true;
      if (first || !data.previous || messages.some(function (m) { return byId.has(m.id); })) {
        // First load, or a resync that missed no more than a page: merge in place.
        var stick = first || nearBottom();
        messages.forEach(function (m) { upsert(m); });
        if (first) setEarlier(data.previous);
        if (stick) toBottom();
      } else {
        // The socket was down for longer than a page: start again from the newest page.
        byId.clear();
        list.querySelectorAll(".msg[data-id]").forEach(function (node) { if (node.dataset.id) node.remove(); });
        prepend(messages);
        setEarlier(data.previous);
        toBottom();
      }
      if (!byId.size && !pending.size) list.setAttribute("data-empty", _("No messages yet."));
      else list.removeAttribute("data-empty");
      fillView();
    });
  }

  function markRead() {
    if (document.hidden) return;
    api("POST", "threads/" + threadId + "/read/").then(function () { R.setUnread(threadId, 0); });
  }

  // --- state: banners and footer ---------------------------------------------------
  var OPEN = ["open", "expiring"];
  var QUICK_LABEL = {
    none: _("Start the conversation with an approved template:"),
    expired: _("The 24-hour window has closed. Restart the conversation with an approved template:"),
    ended: _("The conversation ended. Start a new one with an approved template:"),
    awaiting_reply: _("Waiting for the HCP to answer. You may send another approved template:"),
  };
  function show(name, on) { root.querySelector('[data-banner="' + name + '"]').hidden = !on; }

  function applyState(next) {
    if (next) state = next;
    var w = state.window || { status: "none" };
    var optedIn = state.consent === "opted_in";
    show("consent_required", state.consent === "not_captured");
    show("opted_out", state.consent === "opted_out");
    show("locked", state.locked_by_other);
    show("pending", state.pending_template_by_other && !state.locked_by_other);
    show("expiring", w.status === "expiring" && !state.locked_by_other);
    show("expired", w.status === "expired" && !state.locked_by_other);
    show("ended", w.status === "ended" && !state.locked_by_other);
    show("awaiting", w.status === "awaiting_reply" && !state.pending_template_by_other);
    show("shared_history", state.shared_history);
    $("banners-toggle").hidden = !root.querySelector(".banner:not([hidden])");
    if (w.expires_at) {
      var expires = new Date(w.expires_at);
      // the same formats as the bubbles' times (chat.js), in the browser's time zone
      var hours = Math.max(0, Math.round((expires - Date.now()) / 3600000));
      root.querySelector("[data-expires]").textContent = fill(
        _("at %(when)s (in %(hours)s h)"), { when: R.moment(w.expires_at), hours: hours });
    }
    var windowOpen = OPEN.indexOf(w.status) >= 0 && state.can_send_text;
    $("window-area").hidden = !windowOpen;
    $("quick-area").hidden = windowOpen || !state.can_send_template;
    $("quick-label").textContent = QUICK_LABEL[w.status] || QUICK_LABEL.none;
    // Where the composer would be, say why it is not (the footer never silently vanishes).
    var note = "";
    if (!windowOpen && !state.can_send_template) {
      if (state.consent === "not_captured") note = _("Consent required: capture this HCP's consent (Consent Capture, above) before you write.");
      else if (state.consent === "opted_out") note = _("This HCP opted out of WhatsApp messages; you can write again only after they opt in.");
      else if (state.locked_by_other) note = _("Another rep is in a conversation with this HCP; you can write when it ends or expires.");
      else note = _("You cannot write in this thread right now.");
    }
    $("foot-note").textContent = note;
    $("foot-note").hidden = !note;
    $("foot-note").dataset.reason = note ? (state.consent !== "opted_in" ? state.consent : state.locked_by_other ? "locked" : "other") : "";
    root.dataset.window = w.status;
    root.dataset.consent = state.consent;
    if (!windowOpen) cancelReply();
  }

  // The 12-hour warning and the expiry follow the clock, even when no event arrives.
  setInterval(function () {
    var w = state.window || {};
    if (!w.expires_at || OPEN.indexOf(w.status) < 0) return;
    var left = new Date(w.expires_at) - Date.now();
    if (left <= 0) applyState(Object.assign({}, state, { window: { status: "expired", expires_at: w.expires_at }, can_send_text: false }));
    else if (left <= 12 * 3600000 && w.status === "open") applyState(Object.assign({}, state, { window: { status: "expiring", expires_at: w.expires_at } }));
  }, 30000);

  function refreshState() {
    return api("GET", "threads/" + threadId + "/").then(function (fresh) { detail = fresh; applyState(fresh.state); renderQuick(); });
  }

  // --- sending --------------------------------------------------------------------
  function send(payload, preview, clientId) {
    clientId = clientId || R.uuid(); // kept across a retry: the server answers with the first message
    footError.textContent = "";
    if (!pending.has(clientId)) {
      var optimistic = Object.assign({ id: null, direction: "outbound", status: "queued", body: preview.body,
        kind: preview.kind, template_label: preview.template, created_at: new Date().toISOString(),
        reply_to: preview.reply_to || null, client_id: clientId }, {});
      var node = bubble(optimistic);
      pending.set(clientId, { el: node, message: optimistic });
      list.appendChild(node);
      list.removeAttribute("data-empty");
      toBottom();
    }
    var entry = pending.get(clientId);
    entry.el.classList.remove("msg--unsent");
    return api("POST", "threads/" + threadId + "/messages/", Object.assign({}, payload, { client_id: clientId }))
      .then(function (message) { upsert(message, clientId); return message; })
      .catch(function (error) {
        if (!error.status || error.status >= 500) {
          // Network trouble: keep the bubble and offer a retry with the same client_id.
          entry.el.classList.add("msg--unsent");
          var failed = entry.el.querySelector(".bubble__failed");
          failed.hidden = false; failed.textContent = _("Not sent (connection problem).") + " ";
          var retry = el("button", "link-button", _("Retry"));
          retry.type = "button";
          retry.addEventListener("click", function () { send(payload, preview, clientId); });
          failed.appendChild(retry);
        } else {
          entry.el.remove(); pending.delete(clientId);
          footError.textContent = error.message;
          if (error.status === 409) refreshState();
        }
        throw error;
      });
  }

  // One tap, one intent: a template being sent keeps its button busy until the answer, even when a
  // live state change redraws the buttons meanwhile, and a tap on it within INTENT_MS after the
  // answer is the same intent: it goes with the same client_id, so the server answers with the
  // message already sent instead of sending the template twice.
  var INTENT_MS = 3000, templatesSending = new Map(), templateIntents = new Map();

  function sendTemplate(t, preview) {
    if (templatesSending.has(t.id)) return Promise.resolve();
    var recent = templateIntents.get(t.id);
    var clientId = recent && Date.now() - recent.at < INTENT_MS ? recent.clientId : R.uuid();
    templatesSending.set(t.id, clientId);
    renderQuick();
    return send({ kind: "template", template: t.id }, preview, clientId)
      .then(function () { templateIntents.set(t.id, { clientId: clientId, at: Date.now() }); })
      .catch(function () {})
      .then(function () { templatesSending.delete(t.id); renderQuick(); });
  }

  function renderQuick() {
    var box = $("quick-templates");
    box.textContent = "";
    (detail.quick_templates || []).forEach(function (t) {
      var button = el("button", "quick__template");
      button.type = "button";
      button.setAttribute("data-testid", "quick-template");
      button.disabled = templatesSending.has(t.id);
      button.setAttribute("aria-busy", button.disabled ? "true" : "false");
      button.appendChild(el("span", "quick__name", t.display_name));
      button.appendChild(el("span", "quick__preview", t.preview));
      button.addEventListener("click", function () {
        sendTemplate(t, { body: t.preview, kind: "template", template: t.display_name });
      });
      box.appendChild(button);
    });
  }

  // --- composer with restricted-phrase highlighting ----------------------------------
  var text = $("composer-text"), backdrop = $("composer-backdrop"), sendButton = $("send"), composerError = $("composer-error");
  var matches = [], checkTimer = null, checkSeq = 0, replyTo = null;

  function utf16Offset(value, codePoints) { // the server counts code points; JavaScript strings count UTF-16 units
    var units = 0, seen = 0;
    for (var ch of value) { if (seen >= codePoints) break; units += ch.length; seen += 1; }
    return units;
  }

  function paintBackdrop() {
    var value = text.value;
    backdrop.textContent = "";
    var at = 0;
    matches.map(function (m) { return [utf16Offset(value, m.start), utf16Offset(value, m.end), m.phrase]; })
      .sort(function (a, b) { return a[0] - b[0]; })
      .forEach(function (m) {
        if (m[0] < at) return;
        backdrop.appendChild(document.createTextNode(value.slice(at, m[0])));
        backdrop.appendChild(el("mark", null, value.slice(m[0], m[1])));
        at = m[1];
      });
    backdrop.appendChild(document.createTextNode(value.slice(at) + "\n"));
    backdrop.scrollTop = text.scrollTop;
  }

  function updateSendable() {
    var blocked = matches.length > 0;
    sendButton.disabled = blocked || !text.value.trim();
    text.setAttribute("aria-invalid", blocked ? "true" : "false");
    composerError.textContent = blocked
      ? fill(ngettext("Remove the highlighted restricted phrase before sending: %(phrases)s",
                      "Remove the highlighted restricted phrases before sending: %(phrases)s", matches.length), {
        phrases: matches.map(function (m) { return "“" + text.value.slice(utf16Offset(text.value, m.start), utf16Offset(text.value, m.end)) + "”"; }).join(", ") })
      : "";
  }

  function check() {
    var seq = ++checkSeq, value = text.value;
    if (!value.trim()) { matches = []; paintBackdrop(); updateSendable(); return Promise.resolve(); }
    return api("POST", "restricted-phrases/check/", { text: value }).then(function (data) {
      if (seq !== checkSeq || value !== text.value) return; // a newer keystroke wins
      matches = data.matches; paintBackdrop(); updateSendable();
    });
  }

  // WhatsApp shows the HCP our typing indicator for about 25 s: while the rep types, ask for it at
  // most once every 20 s (never per key; the server also sends at most one per 15 s per thread).
  var TYPING_EVERY_MS = 20000, typingSentAt = -Infinity;
  function typingSignal() {
    var now = Date.now();
    if (!text.value.trim() || $("window-area").hidden || now - typingSentAt < TYPING_EVERY_MS) return;
    typingSentAt = now;
    api("POST", "threads/" + threadId + "/typing/").catch(function () {}); // best effort: nothing to tell the rep
  }

  function resize() { text.style.height = "auto"; text.style.height = Math.min(text.scrollHeight, 160) + "px"; }

  // The unsent draft stays on this device, per rep and thread, until it is sent (or emptied): a lost
  // network, a reload or the offline page never loses what the rep was typing.
  var DRAFT_KEY = "rapport:draft:" + root.closest("[data-user]").dataset.user + ":" + threadId;
  function saveDraft() {
    try { if (text.value.trim()) localStorage.setItem(DRAFT_KEY, text.value); else localStorage.removeItem(DRAFT_KEY); }
    catch (e) { /* storage full or disabled: the draft lives only in the page */ }
  }
  try {
    if (!text.value && localStorage.getItem(DRAFT_KEY)) {
      text.value = localStorage.getItem(DRAFT_KEY); resize();
      setTimeout(function () { paintBackdrop(); updateSendable(); check(); }, 0); // checked like typed text
    }
  } catch (e) { /* no storage */ }

  text.addEventListener("input", function () {
    resize();
    saveDraft();
    typingSignal();
    // Offsets of the previous check no longer fit the new text: clear them until the next answer.
    matches = []; paintBackdrop(); updateSendable();
    clearTimeout(checkTimer); checkTimer = setTimeout(check, 250);
  });
  text.addEventListener("scroll", function () { backdrop.scrollTop = text.scrollTop; });
  text.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); $("composer").requestSubmit(); }
  });
  $("composer").addEventListener("submit", function (event) {
    event.preventDefault();
    clearTimeout(checkTimer);
    check().then(function () {
      if (matches.length || !text.value.trim()) return;
      var body = text.value, reply = replyTo;
      var payload = { kind: "text", text: body };
      if (reply) payload.reply_to = reply.id;
      text.value = ""; resize(); paintBackdrop(); updateSendable(); cancelReply(); saveDraft();
      send(payload, { body: body, kind: "text", reply_to: reply }).catch(function (error) {
        if (error.code === "restricted_phrases") {
          text.value = body; matches = error.data.matches || []; paintBackdrop(); updateSendable(); saveDraft();
        }
      });
    });
  });

  // --- reply and copy -----------------------------------------------------------------
  var menu = $("context-menu"), menuTarget = null, menuOpener = null, holdTimer = null;

  function cancelReply() { replyTo = null; $("reply-bar").hidden = true; }
  $("reply-cancel").addEventListener("click", function () { cancelReply(); text.focus(); });

  function openMenu(li, x, y) {
    menuTarget = li;
    // the focus goes back where it was when the menu closes (the bubble, or its Message actions button)
    menuOpener = li.contains(document.activeElement) ? document.activeElement : li.querySelector(".bubble");
    menu.hidden = false;
    li.querySelector(".bubble__actions").setAttribute("aria-expanded", "true");
    var reply = menu.querySelector('[data-action="reply"]');
    reply.disabled = $("window-area").hidden || !li.dataset.id;
    reply.title = reply.disabled ? _("Replies need an open conversation") : "";
    var m = byId.get(Number(li.dataset.id)), mine = m && (m.reactions || []).filter(function (r) { return r.by.type === "rep"; })[0];
    menu.querySelectorAll('[data-action="react"]').forEach(function (button) {
      button.disabled = reply.disabled || !(m && m.wamid);
      button.title = button.disabled ? _("Reactions need an open conversation") : "";
      button.setAttribute("aria-checked", String(!!mine && mine.emoji === button.dataset.emoji));
    });
    var box = menu.getBoundingClientRect();
    menu.style.left = Math.max(8, Math.min(x, window.innerWidth - box.width - 8)) + "px";
    menu.style.top = Math.max(8, Math.min(y, window.innerHeight - box.height - 8)) + "px";
    (reply.disabled ? menu.querySelector('[data-action="copy"]') : reply).focus();
  }
  function closeMenu(refocus) {
    if (menu.hidden) return;
    menu.hidden = true;
    if (menuTarget) menuTarget.querySelector(".bubble__actions").setAttribute("aria-expanded", "false");
    if (refocus && menuOpener && menuOpener.isConnected) menuOpener.focus();
  }

  list.addEventListener("contextmenu", function (event) {
    var li = event.target.closest(".msg");
    if (!li) return;
    event.preventDefault();
    openMenu(li, event.clientX, event.clientY);
  });
  list.addEventListener("click", function (event) {
    var button = event.target.closest(".bubble__react");
    if (!button) return;
    var box = button.getBoundingClientRect();
    openMenu(button.closest(".msg"), box.left, box.bottom + 4);
  });
  // From the keyboard: Enter or Space on the bubble itself, or the context-menu key / Shift+F10 anywhere
  // in it (a link or button inside a bubble keeps its own Enter).
  list.addEventListener("keydown", function (event) {
    if (event.target.closest && event.target.closest(".bubble__react")) return;
    var li = event.target.closest && event.target.closest(".msg");
    var onBubble = event.target.classList && event.target.classList.contains("bubble");
    if (li && (event.key === "ContextMenu" || (event.shiftKey && event.key === "F10") ||
               (onBubble && (event.key === "Enter" || event.key === " ")))) {
      event.preventDefault();
      var box = li.querySelector(".bubble").getBoundingClientRect();
      openMenu(li, box.left + 16, box.bottom - 8);
    }
  });
  // Press and hold (touch): about half a second, cancelled by moving or lifting the finger.
  list.addEventListener("pointerdown", function (event) {
    if (event.pointerType === "mouse") return;
    var li = event.target.closest(".msg");
    if (!li) return;
    holdTimer = setTimeout(function () { openMenu(li, event.clientX, event.clientY); }, 500);
  });
  ["pointerup", "pointercancel", "pointermove"].forEach(function (type) {
    list.addEventListener(type, function (event) {
      if (type === "pointermove" && Math.abs(event.movementX) + Math.abs(event.movementY) < 4) return;
      clearTimeout(holdTimer);
    });
  });
  document.addEventListener("pointerdown", function (event) { if (!menu.contains(event.target)) closeMenu(false); });
  // In the menu: arrows move (Down/Right forward, Up/Left back, Home/End), Enter or Space picks,
  // Escape or Tab closes it and gives the focus back.
  menu.addEventListener("keydown", function (event) {
    var items = Array.prototype.slice.call(menu.querySelectorAll("button:not(:disabled)"));
    var index = items.indexOf(document.activeElement);
    var step = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1 }[event.key];
    if (event.key === "Escape" || event.key === "Tab") { event.preventDefault(); closeMenu(true); }
    else if (step) { event.preventDefault(); items[(index + step + items.length) % items.length].focus(); }
    else if (event.key === "Home" || event.key === "End") { event.preventDefault(); items[event.key === "Home" ? 0 : items.length - 1].focus(); }
  });
  menu.addEventListener("click", function (event) {
    var action = event.target.closest("button");
    if (!action || !menuTarget) return;
    var m = byId.get(Number(menuTarget.dataset.id));
    var body = m ? m.body : menuTarget.querySelector(".bubble__body").textContent;
    closeMenu(action.dataset.action !== "reply");
    if (action.dataset.action === "reply" && m) {
      replyTo = { id: m.id, direction: m.direction, quote: body.replace(/\s+/g, " ").slice(0, 80) };
      $("reply-quote").textContent = replyTo.quote;
      $("reply-bar").hidden = false;
      text.focus();
    } else if (action.dataset.action === "react" && m) {
      var current = (m.reactions || []).filter(function (r) { return r.by.type === "rep"; })[0];
      var emoji = current && current.emoji === action.dataset.emoji ? "" : action.dataset.emoji; // the same again removes it
      api("PUT", "threads/" + threadId + "/messages/" + m.id + "/reaction", { emoji: emoji })
        .then(function (result) { upsert(result.message); footError.textContent = ""; })
        .catch(function (error) { footError.textContent = error.message; });
    } else if (action.dataset.action === "copy") {
      copyText(body);
    }
  });

  // Copy says what it did. The Clipboard API needs a secure context (HTTPS); on a plain-http deployment
  // the text is copied through a selected, off-screen text area instead.
  var actionNote = $("action-note"), actionNoteTimer = null;
  function note(message) {
    actionNote.textContent = message;
    clearTimeout(actionNoteTimer);
    actionNoteTimer = setTimeout(function () { actionNote.textContent = ""; }, 2500);
  }
  function copyByCommand(value) {
    var area = el("textarea", "visually-hidden");
    area.value = value; area.setAttribute("readonly", ""); area.style.position = "fixed"; area.style.top = "-1000px";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok;
  }
  function copyText(value) {
    var copied = function () { footError.textContent = ""; R.copied = value; note(_("Copied")); };
    var fallback = function () {
      if (copyByCommand(value)) copied();
      else note(_("Could not copy: select the text and copy it"));
    };
    if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(value).then(copied, fallback);
    else fallback();
  }

  // --- dialogs: templates, media, end -------------------------------------------------
  function choices(listEl, items, label, onPick) {
    listEl.textContent = "";
    if (!items.length) listEl.appendChild(el("li", "empty", _("Nothing to choose here.")));
    items.forEach(function (item) {
      var li = el("li");
      var button = el("button", "choice");
      button.type = "button";
      button.setAttribute("aria-pressed", "false");
      button.setAttribute("data-testid", "choice");
      label(item).forEach(function (part) { button.appendChild(part); });
      button.addEventListener("click", function () {
        listEl.querySelectorAll(".choice").forEach(function (b) { b.setAttribute("aria-pressed", "false"); });
        button.setAttribute("aria-pressed", "true");
        onPick(item);
      });
      li.appendChild(button);
      listEl.appendChild(li);
    });
  }

  var picked = null;
  function loadTemplates() {
    var category = $("template-category").value;
    picked = null; $("template-send").disabled = true; $("template-preview").hidden = true; $("template-error").textContent = "";
    return api("GET", "templates/?thread=" + threadId + (category ? "&category=" + category : "")).then(function (items) {
      choices($("template-list"), items, function (t) {
        return [el("span", "choice__title", t.display_name),
                el("span", "choice__badge" + (t.kind === "meta" ? "" : " choice__badge--text"), t.kind === "meta" ? _("Meta") : _("Text Only")),
                el("span", "choice__sub", t.preview)];
      }, function (t) {
        picked = t;
        $("template-preview").hidden = false; $("template-preview").textContent = t.preview;
        $("template-send").disabled = false;
      });
    });
  }
  function openTemplates(category) {
    $("template-category").value = category;
    loadTemplates();
    $("templates-dialog").showModal();
  }
  $("template-category").addEventListener("change", loadTemplates);
  $("more-templates").addEventListener("click", function () { openTemplates("start_conversation"); });
  $("pill-templates").addEventListener("click", function () { openTemplates(""); });
  $("template-send").addEventListener("click", function () {
    if (!picked) return;
    var t = picked;
    $("template-send").disabled = true;
    send({ kind: "template", template: t.id }, { body: t.preview, kind: "template", template: t.display_name })
      .then(function () { $("templates-dialog").close(); })
      .catch(function (error) { $("template-error").textContent = error.message; $("template-send").disabled = false; });
  });

  var media = null, mediaPicked = null;
  function previewMedia() {
    var box = $("media-preview");
    box.hidden = !mediaPicked;
    if (!mediaPicked) return;
    box.textContent = "";
    var note = $("media-note").value.trim();
    if (note) box.appendChild(el("p", null, note));
    box.appendChild(el("p", "preview__link", fill(_("%(title)s: a tracked link to %(url)s (created when you send)"), { title: mediaPicked.title, url: mediaPicked.url })));
  }
  function pickMedia(item) {
    mediaPicked = item; $("media-send").disabled = false; $("media-error").textContent = "";
    if (item.share_template) {
      api("GET", "templates/?thread=" + threadId).then(function (templates) {
        var t = templates.filter(function (x) { return x.name === item.share_template; })[0];
        if (t && mediaPicked === item) { $("media-note").value = t.preview; previewMedia(); }
      });
    }
    previewMedia();
  }
  function openMedia(preselect) {
    (media ? Promise.resolve(media) : api("GET", "media/")).then(function (items) {
      media = items;
      choices($("media-list"), items, function (m) {
        return [el("span", "choice__title", m.title), el("span", "choice__badge", m.kind === "website" ? _("Website") : _("CLM presentation"))];
      }, pickMedia);
      $("media-dialog").showModal();
      if (preselect) {
        var index = items.findIndex(function (m) { return String(m.id) === String(preselect); });
        if (index >= 0) $("media-list").querySelectorAll(".choice")[index].click();
      }
    });
  }
  $("media-note").addEventListener("input", previewMedia);
  $("pill-media").hidden = root.dataset.hasMedia !== "1";
  $("pill-media").addEventListener("click", function () { openMedia(null); });
  $("media-send").addEventListener("click", function () {
    if (!mediaPicked) return;
    var item = mediaPicked, note = $("media-note").value.trim();
    $("media-send").disabled = true;
    send({ kind: "media", media: item.id, text: note }, { body: (note ? note + "\n\n" : "") + item.title + ": …", kind: "media_link" })
      .then(function () { $("media-dialog").close(); $("media-note").value = ""; mediaPicked = null; })
      .catch(function (error) { $("media-error").textContent = error.message; $("media-send").disabled = false; });
  });

  $("pill-end").addEventListener("click", function () { $("end-dialog").showModal(); });
  // Where the messages are, the thread says that the rep ended it (after the closing message, if one
  // went out); it takes the focus, as End Conversation is gone from the footer.
  function endNote(closingSent) {
    var at = R.clock(new Date().toISOString());
    var li = el("li", "end-note", closingSent
      ? fill(_("You ended the conversation at %(time)s; the closing message went to %(name)s."), { time: at, name: detail.account.name })
      : fill(_("You ended the conversation at %(time)s; no closing message was sent."), { time: at }));
    li.setAttribute("data-testid", "end-note");
    li.tabIndex = -1;
    list.appendChild(li);
    li.focus({ preventScroll: true });
    toBottom();
  }
  $("end-confirm").addEventListener("click", function () {
    var button = $("end-confirm");
    if (button.disabled) return;
    button.disabled = true; // one End per tap
    api("POST", "threads/" + threadId + "/end/").then(function (result) {
      $("end-dialog").close();
      applyState(result.state);
      if (result.closing_message) upsert(result.closing_message);
      endNote(!!result.closing_message);
      // the footer changed height with the state: show the end once laid out
      requestAnimationFrame(toBottom);
    }).catch(function (error) { $("end-dialog").close(); footError.textContent = error.message; })
      .then(function () { button.disabled = false; });
  });

  // Consent Capture asks how consent was obtained before anything is sent.
  function pickedMethod() {
    var picked = document.querySelector('input[name="consent-method"]:checked');
    return picked ? picked.value : "";
  }
  $("consent-capture").addEventListener("click", function () {
    $("consent-error").textContent = "";
    $("consent-confirm").disabled = !pickedMethod();
    $("consent-dialog").showModal();
  });
  $("consent-form").addEventListener("change", function () { $("consent-confirm").disabled = !pickedMethod(); });
  $("consent-confirm").addEventListener("click", function () {
    var button = $("consent-confirm"), method = pickedMethod();
    if (!method) return;
    button.disabled = true;
    api("POST", "accounts/" + accountId + "/consent/", { method: method }).then(function (result) {
      $("consent-dialog").close();
      if (result.confirmation) upsert(result.confirmation);
      footError.textContent = result.confirmation_not_sent
        ? fill(_("Consent captured; the confirmation was not sent (%(reason)s)."), { reason: result.confirmation_not_sent }) : "";
      return refreshState();
    }).catch(function (error) { $("consent-error").textContent = error.message; })
      .then(function () { button.disabled = !pickedMethod(); });
  });

  // --- live events --------------------------------------------------------------------
  R.handlers.push(function (event, thread) {
    if (Number(thread) !== threadId) return;
    if (event.type === "message.created") {
      upsert(event.message);
      if (event.message.direction === "inbound") {
        markRead();
        // An HCP message opens or rolls the window: read the state when the event did not carry it.
        refreshState();
      }
    } else if (event.type === "message.status" || event.type === "message.updated") {
      upsert(event.message);
    } else if (event.type === "safety_case.changed") {
      if (byId.has(event.message.id)) upsert(event.message);
    } else if (event.type === "message.reaction") {
      if (byId.has(event.message.id)) upsert(event.message); // one not loaded comes with its page
    } else if (event.type === "thread.state") {
      applyState(event.state);
    } else if (event.type === "consent.changed") {
      var optedIn = event.consent === "opted_in", free = optedIn && !state.locked_by_other;
      applyState(Object.assign({}, state, { consent: event.consent, can_send_template: free,
        can_send_text: free && OPEN.indexOf((state.window || {}).status) >= 0 }));
    }
  });
  R.resyncs.push(function () { loadMessages(); refreshState(); });
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { markRead(); refreshState(); } });

  // Phones: the banners fold into their titles and the quick templates into their names (chat.css);
  // each opens on demand.
  function toggler(button, box, attribute) {
    button.addEventListener("click", function () {
      var open = box.hasAttribute(attribute);
      box.toggleAttribute(attribute, !open);
      button.setAttribute("aria-expanded", String(open));
    });
  }
  toggler($("banners-toggle"), $("banners"), "data-collapsed");
  toggler($("quick-toggle"), $("quick-area"), "data-compact");

  applyState(state);
  renderQuick();
  loadMessages().then(function () {
    markRead();
    if (root.dataset.share) {
      if ($("window-area").hidden) footError.textContent = _("A media link can be sent only inside an open conversation; start one with a template first.");
      else openMedia(root.dataset.share);
    }
  });
  R.thread = { state: function () { return state; }, messages: byId };
})();
