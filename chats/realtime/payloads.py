"""What live events carry, built once so every publisher sends the same shape.

Pure functions over rows already loaded: they never write and never leak
Meta's ids (no wamid, no phone_number_id). Everything is JSON- and
msgpack-safe (datetimes as ISO 8601 strings), because on the services profile
events cross Redis. Load messages with `select_related("reply_to")` to keep
the reply quote from costing a query.
"""
from datetime import datetime

from django.utils import timezone

QUOTE_LENGTH = 80


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= QUOTE_LENGTH else text[: QUOTE_LENGTH - 1] + "…"


def _status_fields(message) -> dict:
    return {
        "id": message.pk,
        "thread": message.thread_id,
        "status": message.status,
        "sent_at": _iso(message.sent_at),
        "delivered_at": _iso(message.delivered_at),
        "read_at": _iso(message.read_at),
        "failed_at": _iso(message.failed_at),
        "failure_code": message.failure_code,
        "failure_reason": message.failure_reason,
    }


def message_payload(message) -> dict:
    """Payload of `message.created`: the thread id and the whole message as a client shows it."""
    reply_to = None
    if message.reply_to_id is not None:
        quoted = message.reply_to
        reply_to = {"id": quoted.pk, "direction": quoted.direction, "quote": _quote(quoted.body)}
    return {
        "thread": message.thread_id,
        "message": {
            **_status_fields(message),
            "direction": message.direction,
            "kind": message.kind,
            "body": message.body,
            "template": message.template_id,
            "reply_to": reply_to,
            "sender": message.sender_id,
            "client_id": str(message.client_id) if message.client_id else None,
            "created_at": _iso(message.created_at),
            "written_at": _iso(message.written_at),
        },
    }


def message_status_payload(message) -> dict:
    """Payload of `message.status`: the thread id and the fields that changed, to merge by message id."""
    return {"thread": message.thread_id, "message": _status_fields(message)}


def api_datetime(value: datetime | None) -> str | None:
    """A datetime as the REST API writes it (DRF's ISO 8601 in the current time zone, UTC as "Z")."""
    if value is None:
        return None
    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def state_fields(state) -> dict:
    """A thread's `state` (a ThreadState of chats/conversations/policy.py) as the REST `state` and
    the `thread.state` event show it. Built directly: every HCP message that rolls a window sends
    one to each thread on it."""
    window = state.window
    return {
        "consent": state.consent,
        "window": {"status": window.status, "expires_at": api_datetime(window.expires_at)},
        "locked_by_other": state.locked_by_other,
        "pending_template_by_other": state.pending_template_by_other,
        "shared_history": state.shared_history,
        "can_send_text": state.can_send_text,
        "can_send_template": state.can_send_template,
    }


def thread_state_payload(*, thread_id: int, state) -> dict:
    """Payload of `thread.state`: the thread id and its state, shaped like the REST `state`."""
    return {"thread": thread_id, "state": state_fields(state)}


def consent_changed_payload(*, thread_id: int, account_id: int, consent: str) -> dict:
    """Payload of `consent.changed` for one of the user's threads with that account."""
    return {"thread": thread_id, "account": account_id, "consent": consent}
