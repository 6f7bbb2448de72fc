"""The one place real-time events are published: to a user's group, after commit.

A client never hears of a row that was rolled back. Tests capture what was
published by patching `_send_all` (tests/conftest.py `published`) or by reading the channel layer.
"""
import asyncio
import logging
import threading

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

from chats import phases
from chats.integration.feed import changes_record

logger = logging.getLogger(__name__)

EVENT_TYPES = ("message.created", "message.status", "message.updated", "message.reaction", "thread.state",
               "consent.changed", "safety_case.changed")


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


def _send_all(events: list[tuple[int, str, dict]]) -> None:
    """Deliver (user id, event type, payload) triples, in order: one channel-layer message per user.

    A drain's batch publishes a `message.created` and a `thread.state` per HCP message;
    one `chat.events` message per user carries them all, so the channel layer and the
    sockets' servers handle one message per user and batch instead of one per event.
    """
    layer = get_channel_layer()
    if layer is None or not events:
        return
    by_user: dict[int, list[dict]] = {}
    for user_id, event_type, payload in events:
        by_user.setdefault(user_id, []).append({"type": event_type, **payload})
    messages = [(user_group(user_id), {"type": "chat.events", "events": batch}) for user_id, batch in by_user.items()]

    async def send_each():
        for group, message in messages:
            await layer.group_send(group, message)

    try:
        with phases.phase("channel-layer send"):
            _deliver(layer, send_each)
    except Exception:  # a lost live event must never undo or fail the committed write
        logger.exception("could not publish %s events to users %s", len(events), sorted(by_user))


def _deliver(layer, send_each) -> None:
    if isinstance(layer, InMemoryChannelLayer):
        # In-memory queues belong to the server's own loop: publish on it.
        async_to_sync(send_each)()
    else:
        asyncio.run_coroutine_threadsafe(send_each(), _publisher_loop()).result(timeout=PUBLISH_TIMEOUT_SECONDS)


def publish_on_commit(user_id: int | None, event_type: str, payload: dict) -> None:
    """Publish `event_type` with `payload` to `user_id`'s sockets once the transaction commits, and
    append it to the integrations' change feed in this transaction (chats/integration/feed.py)."""
    publish_all_on_commit([(user_id, event_type, payload)])


def publish_all_on_commit(events: list[tuple[int | None, str, dict]]) -> None:
    """`publish_on_commit` for several events, delivered together and in order after commit. An event
    for no user (`None`) goes to the change feed only (a consent change of an HCP nobody chats with)."""
    for _, event_type, _ in events:
        if event_type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {event_type!r}")
    changes_record([(event_type, payload) for _, event_type, payload in events])
    events = [event for event in events if event[0] is not None]
    if events:
        transaction.on_commit(lambda: _send_all(events))
