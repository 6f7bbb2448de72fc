"""What live events carry, built once so every publisher sends the same shape.

Pure functions over rows already loaded: they never write and never leak
Meta's ids (no wamid, no phone_number_id). Everything is JSON- and
msgpack-safe (datetimes as ISO 8601 strings), because on the services profile
events cross Redis. Load messages with `select_related("reply_to")` to keep
the reply quote from costing a query.
"""
from datetime import date, datetime
from uuid import UUID

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
        },
    }


def message_status_payload(message) -> dict:
    """Payload of `message.status`: the thread id and the fields that changed, to merge by message id."""
    return {"thread": message.thread_id, "message": _status_fields(message)}


def _jsonable(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    return value


def thread_state_payload(*, thread_id: int, state: dict) -> dict:
    """Payload of `thread.state`: the thread id and its state, shaped like the REST `state`."""
    return {"thread": thread_id, "state": _jsonable(state)}


def consent_changed_payload(*, thread_id: int, account_id: int, consent: str) -> dict:
    """Payload of `consent.changed` for one of the user's threads with that account."""
    return {"thread": thread_id, "account": account_id, "consent": consent}
