"""The one place real-time events are published: to a user's group, after commit.

A client never hears of a row that was rolled back. Tests capture what was
published by patching `_send` or by reading the channel layer.
"""
import asyncio
import logging
import threading

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

EVENT_TYPES = ("message.created", "message.status", "thread.state", "consent.changed")


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


_loop: asyncio.AbstractEventLoop | None = None
_loop_lock = threading.Lock()
PUBLISH_TIMEOUT_SECONDS = 5


def _publisher_loop() -> asyncio.AbstractEventLoop:
    """One long-lived event loop per process for publishing through Redis.

    channels-redis keeps its connection pool per event loop; `async_to_sync` in a
    Celery worker makes a new loop (so a new connection) for every event, which
    measured 9 ms per publish. A loop that lives on reuses one pool.
    """
    global _loop
    with _loop_lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="rapport-event-publisher", daemon=True).start()
            _loop = loop
        return _loop


def _send(user_id: int, event_type: str, payload: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "chat.event", "event": {"type": event_type, **payload}}
    try:
        if isinstance(layer, InMemoryChannelLayer):
            # In-memory queues belong to the server's own loop: publish on it.
            async_to_sync(layer.group_send)(user_group(user_id), message)
        else:
            future = asyncio.run_coroutine_threadsafe(layer.group_send(user_group(user_id), message), _publisher_loop())
            future.result(timeout=PUBLISH_TIMEOUT_SECONDS)
    except Exception:  # a lost live event must never undo or fail the committed write
        logger.exception("could not publish %s to user %s", event_type, user_id)


def publish_on_commit(user_id: int | None, event_type: str, payload: dict) -> None:
    """Publish `event_type` with `payload` to `user_id`'s sockets once the transaction commits."""
    if user_id is None:
        return
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    transaction.on_commit(lambda: _send(user_id, event_type, payload))
