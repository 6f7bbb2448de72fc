"""What the HCP sees of the rep's reading and typing: WhatsApp's blue ticks and typing indicator.

Both are Meta's `status: read` call on the HCP's latest message (chats/delivery/receipts.py
sends it, through a task after commit). WHATSAPP_SEND_READ_RECEIPTS turns both off: the
typing indicator marks the message read as well. See docs/whatsapp.md, "Read receipts and
typing".
"""
from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from chats import jobs
from chats.conversations.policy import check_can_send, thread_state
from chats.delivery.receipts import inbound_read_claim
from chats.models import Message, Thread, written_at_expression

# Meta marks a message read only within 30 days of its receipt; older ones are left alone.
READ_RECEIPT_MAX_AGE = timedelta(days=30)
# At most one typing indicator per thread this often. Meta shows one for about 25 seconds; the web
# chat asks at most every 20 seconds while the rep types, so the indicator stays up without gaps.
TYPING_INDICATOR_INTERVAL = timedelta(seconds=15)


class TypingOutcome:
    QUEUED = "queued"  # an indicator goes to Meta
    DEBOUNCED = "debounced"  # one went less than TYPING_INDICATOR_INTERVAL ago: it is still showing
    NO_MESSAGE = "no_message"  # no HCP message in the thread for Meta to attach it to
    DISABLED = "disabled"  # WHATSAPP_SEND_READ_RECEIPTS is off
    ALL = (QUEUED, DEBOUNCED, NO_MESSAGE, DISABLED)


def latest_inbound(*, thread: Thread) -> Message | None:
    """The HCP's latest message in the thread that Meta knows by a wamid, in the order written."""
    return (Message.objects.filter(thread=thread, direction=Message.Direction.INBOUND, wamid__isnull=False)
            .alias(written_at=written_at_expression()).order_by("-written_at", "-id")
            .only("id", "wamid", "wa_timestamp", "created_at", "read_at").first())


def _queue_read_status(message: Message, *, typing_indicator: bool) -> None:
    # robust: whatever becomes of the call, opening the thread or typing never fails for it
    transaction.on_commit(lambda: jobs.enqueue(jobs.SEND_READ_STATUS, message.pk, typing_indicator), robust=True)


def read_receipt_queue(*, thread: Thread, unread_since: datetime | None, now: datetime) -> Message | None:
    """The rep opened the thread at `now`, having last read it at `unread_since`: mark the HCP's
    latest message read at Meta (which marks the earlier ones too), once. Returns that message
    when a receipt was queued.

    Nothing is sent when the setting is off, when the latest HCP message was already marked or
    had arrived before the rep's previous read, or when it is beyond Meta's 30 days.
    """
    if not settings.WHATSAPP_SEND_READ_RECEIPTS:
        return None
    message = latest_inbound(thread=thread)
    if message is None or message.read_at is not None:
        return None
    if unread_since is not None and message.created_at <= unread_since:
        return None
    if message.written_at < now - READ_RECEIPT_MAX_AGE:
        return None
    if not inbound_read_claim(message_id=message.pk, at=now):
        return None  # another tab or request marked it first
    _queue_read_status(message, typing_indicator=False)
    return message


def _typing_key(thread: Thread) -> str:
    return f"rapport:typing:{thread.pk}"


def typing_indicator_queue(*, thread: Thread, now: datetime | None = None) -> str:
    """The rep is typing in the thread: show Meta's typing indicator to the HCP, at most once per
    TYPING_INDICATOR_INTERVAL per thread. Returns a TypingOutcome.

    Only while the rep may send text (the same rule as a send: opted in, the 24-hour window
    open, not another rep's conversation); otherwise SendRefused with that rule's code.
    """
    now = now or timezone.now()
    check_can_send(state=thread_state(thread=thread, now=now), kind="text")
    if not settings.WHATSAPP_SEND_READ_RECEIPTS:
        return TypingOutcome.DISABLED
    message = latest_inbound(thread=thread)
    if message is None:
        return TypingOutcome.NO_MESSAGE
    # add() writes only when the key is absent: of concurrent calls, one wins (shared through Redis
    # on the services profile); the key expires after the interval. The value is when it was sent, by
    # Rapport's clock: a key the cache still holds past the interval by that clock (a clock moved
    # forward) no longer debounces.
    key, timeout = _typing_key(thread), TYPING_INDICATOR_INTERVAL.total_seconds()
    if not cache.add(key, now.isoformat(), timeout=timeout):
        sent = parse_datetime(str(cache.get(key) or ""))
        if sent is not None and now - sent < TYPING_INDICATOR_INTERVAL:
            return TypingOutcome.DEBOUNCED
        cache.set(key, now.isoformat(), timeout=timeout)
    _queue_read_status(message, typing_indicator=True)
    return TypingOutcome.QUEUED
