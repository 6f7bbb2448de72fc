"""Announcements: who hears that a conversation changed, and the beat task's window warnings and expiries
(docs/rules.md, "Window announcements").

Window status itself is always derived from stored timestamps at read time
(chats/conversations/policy.py `window_of`); this module only *tells* clients when it
changes, so a page left open shows the 12-hour warning and the expiry without
a reload.
"""
from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from chats.compliance.audit import audit
from chats.conversations.policy import (
    EXPIRING_WITHIN, ended_since_inbound, not_ended_since_inbound_q, thread_state,
)
from chats.conversations.waiting import lock_waiters_release
from chats.models import AuditEvent, Conversation, Thread
from chats.models.sql import among, load_models, model_columns
from chats.notifications.notices import EXPIRY_WARNING, notify_on_commit
from chats.realtime import payloads
from chats.realtime.events import publish_all_on_commit
from consent.models import ConsentStatus

ANNOUNCE_BATCH = 500


def thread_state_event(*, thread: Thread, now: datetime | None = None, conversation=...,
                         shared_history: bool | None = None, consent: str | None = None) -> dict:
    """The `thread.state` event: the same `state` the thread detail endpoint returns."""
    state = thread_state(thread=thread, now=now, conversation=conversation, shared_history=shared_history,
                         consent=consent)
    return payloads.thread_state_payload(thread_id=thread.pk, state=state)


def publish_conversation_states(*, conversation: Conversation, now: datetime, except_thread_id: int | None = None) -> int:
    """Publish `thread.state` to every rep's thread with this HCP on this number (after commit).

    The window, the lock and the banners are shared by all reps of the number, so
    a change seen by one is a change for all. Returns how many threads were told.
    """
    events = state_events_of(conversations=[conversation], now=now, except_thread_id=except_thread_id)
    publish_all_on_commit(events)
    return len(events)


def state_events_of(*, conversations: list[Conversation], now: datetime,
                    except_thread_id: int | None = None) -> list[tuple[int, str, dict]]:
    """The `thread.state` events of every thread on these conversations, with one statement whatever
    their number: the threads are read with whether each holds messages (each one's `shared_history`)
    and their HCP's consent. Written out (chats/models/sql.py): every drain's batch runs it."""
    if not conversations:
        return []
    by_pair = {(c.phone_number_id, c.account_id): c for c in conversations}
    numbers, number_params = among({n for n, _ in by_pair})
    accounts, account_params = among({a for _, a in by_pair})
    rows = load_models(
        Thread, f"SELECT {model_columns(Thread, 't')},"
        " EXISTS (SELECT 1 FROM chats_message m WHERE m.thread_id = t.id), r.status"
        " FROM chats_thread t LEFT JOIN consent_consentrecord r ON r.account_id = t.account_id"
        f" WHERE t.phone_number_id {numbers} AND t.account_id {accounts} ORDER BY t.id",
        number_params + account_params, extra=("has_messages", "consent_status"))
    threads = [t for t in rows if (t.phone_number_id, t.account_id) in by_pair]  # numbers x HCPs is a superset
    writers: dict[tuple[int, int], set[int]] = {}
    for thread in threads:
        if thread.has_messages:
            writers.setdefault((thread.phone_number_id, thread.account_id), set()).add(thread.user_id)
    events = []
    for thread in threads:
        if thread.pk == except_thread_id:
            continue
        pair = (thread.phone_number_id, thread.account_id)
        payload = thread_state_event(thread=thread, now=now, conversation=by_pair[pair],
                                       shared_history=bool(writers.get(pair, set()) - {thread.user_id}),
                                       consent=thread.consent_status or ConsentStatus.NOT_CAPTURED)
        events.append((thread.user_id, "thread.state", payload))
    return events


def _warning_due(*, now: datetime):
    return Conversation.objects.filter(not_ended_since_inbound_q(), expiry_warned_at__isnull=True,
                                       window_expires_at__gt=now, window_expires_at__lte=now + EXPIRING_WITHIN)


def _expiry_due(*, now: datetime):
    return Conversation.objects.filter(expiry_announced_at__isnull=True, window_expires_at__lte=now)


def _due(conversations) -> list[int]:
    """The ids of the first ANNOUNCE_BATCH due conversations, soonest first."""
    return list(conversations.order_by("window_expires_at").values_list("pk", flat=True)[:ANNOUNCE_BATCH])


def window_announce_due(*, now: datetime | None = None) -> dict[str, int]:
    """Publish the 12-hour warnings and the expiries that are due; returns {"warned": n, "expired": n}.

    Each announcement is claimed by a conditional UPDATE that repeats what made it due (the
    mark still null, the window still expiring or expired as read), so two beat runs at once
    never announce the same window twice, and a window an HCP message rolled between the read
    and the claim is not announced. A window ended by its owner is not announced as expired
    (the ending was published already); it is only marked done.
    """
    now = now or timezone.now()
    warned = expired = 0
    for pk in _due(_warning_due(now=now)):
        with transaction.atomic():
            if not _warning_due(now=now).filter(pk=pk).update(expiry_warned_at=now):
                continue  # another run claimed it, or the window moved
            conversation = Conversation.objects.get(pk=pk)
            publish_conversation_states(conversation=conversation, now=now)
            _push_warning(conversation)
            warned += 1
    for pk in _due(_expiry_due(now=now)):
        with transaction.atomic():
            if not _expiry_due(now=now).filter(pk=pk).update(expiry_announced_at=now):
                continue  # another run claimed it, or an HCP message rolled the window meanwhile
            conversation = Conversation.objects.select_related("owner").get(pk=pk)
            if ended_since_inbound(conversation):
                continue  # ended before it could expire: nothing new to tell
            owner_thread = Thread.objects.filter(user_id=conversation.owner_id, account_id=conversation.account_id,
                                                 phone_number_id=conversation.phone_number_id).first()
            audit(kind=AuditEvent.Kind.WINDOW_EXPIRED, thread=owner_thread, account=conversation.account,
                  phone_number=conversation.phone_number, owner_id=conversation.owner_id,
                  expired_at=conversation.window_expires_at.isoformat())
            publish_conversation_states(conversation=conversation, now=now)
            lock_waiters_release(conversation=conversation)
            expired += 1
    return {"warned": warned, "expired": expired}


def _push_warning(conversation: Conversation) -> None:
    """The window's owner hears of the 12-hour warning on their devices too, once per window (the claim above)."""
    owner_thread = Thread.objects.filter(user_id=conversation.owner_id, account_id=conversation.account_id,
                                         phone_number_id=conversation.phone_number_id).values_list("pk", flat=True)
    notify_on_commit(kind=EXPIRY_WARNING, ids=list(owner_thread[:1]))
