"""What each notification says, to whom, and its queueing after commit (rules layer: it asks who may chat).

Three kinds: an HCP's new message in one of the rep's threads, the 12-hour warning before
the rep's window expires, and "you can write again" for a rep who waited behind another
rep's window on a shared number (chats/conversations/waiting.py). A lock screen is not
private: no message text is sent unless PUSH_MESSAGE_TEXT is on, only the HCP's name.
Each is worded in the rep's own language (UserProfile.language; English when they follow the
browser, which a push cannot ask).
"""
from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from chats import jobs
from chats.inbox.access import users_who_may_chat
from chats.models import Message, Thread
from chats.notifications.push import Notification, push_enabled, push_to_user

NEW_MESSAGES = "message"
EXPIRY_WARNING = "expiry"
LOCK_ENDED = "lock_ended"
KINDS = (NEW_MESSAGES, EXPIRY_WARNING, LOCK_ENDED)
TEXT_MAX_CHARS = 120


def notify_on_commit(*, kind: str, ids: list[int]) -> None:
    """After commit, a task sends the `kind` notification about these messages (NEW_MESSAGES) or
    threads (the others). Nothing is queued while push is off."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    if ids and push_enabled():
        ids = list(ids)
        transaction.on_commit(lambda: jobs.enqueue(jobs.PUSH_NOTIFY, kind, ids))


def notify(*, kind: str, ids: list[int]) -> dict[str, int]:
    """Send the `kind` notifications (the task's work) to the reps who may still chat (active, licensed);
    returns the counts of push_to_user, summed."""
    if kind == NEW_MESSAGES:
        notices = _new_messages(ids)
    else:
        threads = Thread.objects.filter(pk__in=ids).select_related("account").order_by("pk")
        word = _expiry_warning if kind == EXPIRY_WARNING else _lock_ended
        notices = [(t.user_id, lambda t=t: word(t)) for t in threads]
    totals = {"sent": 0, "removed": 0, "failed": 0}
    may_chat = users_who_may_chat(user_ids=[user_id for user_id, _words in notices]) if notices else {}
    for user_id, words in notices:
        if user_id not in may_chat:
            continue
        with translation.override(may_chat[user_id] or settings.LANGUAGE_CODE):
            notification = words()
        for key, count in push_to_user(user_id=user_id, notification=notification).items():
            totals[key] += count
    return totals


def _thread_url(thread_id: int) -> str:
    return reverse("web-thread", args=[thread_id])


def _new_messages(message_ids: list[int]) -> list[tuple[int, Callable[[], Notification]]]:
    """One notification per thread, about its latest new message (a batch may hold several), worded
    when called (in the rep's language)."""
    latest: dict[int, Message] = {}
    counts: dict[int, int] = {}
    messages = (Message.objects.filter(pk__in=message_ids, direction=Message.Direction.INBOUND, thread__isnull=False)
                .exclude(kind=Message.Kind.SYSTEM).select_related("thread__account").order_by("pk"))
    for message in messages:
        latest[message.thread_id] = message
        counts[message.thread_id] = counts.get(message.thread_id, 0) + 1
    return [(message.thread.user_id, lambda m=message: _new_message(m, counts[m.thread_id]))
            for message in latest.values()]


def _new_message(message: Message, many: int) -> Notification:
    name = message.thread.account.name
    if settings.PUSH_MESSAGE_TEXT:
        title, body = name, _excerpt(message)
    else:
        title = _("New message")
        body = (ngettext("%(name)s sent you %(count)s message.", "%(name)s sent you %(count)s messages.", many)
                % {"name": name, "count": many}) if many > 1 else _("%(name)s wrote to you.") % {"name": name}
    return Notification(title=title, body=body, tag=f"thread-{message.thread_id}", url=_thread_url(message.thread_id),
                        kind=NEW_MESSAGES, urgency="high")


def _excerpt(message: Message) -> str:
    text = " ".join((message.body or "").split())
    if not text:
        return _("Sent a file.") if message.kind == Message.Kind.INBOUND_MEDIA else _("Sent a message.")
    return text if len(text) <= TEXT_MAX_CHARS else text[:TEXT_MAX_CHARS - 1].rstrip() + "…"


def _expiry_warning(thread: Thread) -> Notification:
    return Notification(
        title=_("Conversation expiring"),
        body=_("Your conversation with %(name)s ends in under 12 hours; after that only a Meta template can "
               "restart it.") % {"name": thread.account.name},
        tag=f"thread-{thread.pk}-expiry", url=_thread_url(thread.pk), kind=EXPIRY_WARNING)


def _lock_ended(thread: Thread) -> Notification:
    return Notification(
        title=_("You can write again"),
        body=_("Another rep's conversation with %(name)s has ended; you can chat with them now.")
        % {"name": thread.account.name},
        tag=f"thread-{thread.pk}-lock", url=_thread_url(thread.pk), kind=LOCK_ENDED)
