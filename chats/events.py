"""The one place real-time events are published: to a user's group, after commit.

A client never hears of a row that was rolled back. Tests capture what was
published by patching `_send` or by reading the channel layer.
"""
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

EVENT_TYPES = ("message.created", "message.status", "thread.state", "consent.changed")


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def _send(user_id: int, event_type: str, payload: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(user_group(user_id), {"type": "chat.event", "event": {"type": event_type, **payload}})
    except Exception:  # a lost live event must never undo or fail the committed write
        logger.exception("could not publish %s to user %s", event_type, user_id)


def publish_on_commit(user_id: int | None, event_type: str, payload: dict) -> None:
    """Publish `event_type` with `payload` to `user_id`'s sockets once the transaction commits."""
    if user_id is None:
        return
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    transaction.on_commit(lambda: _send(user_id, event_type, payload))
