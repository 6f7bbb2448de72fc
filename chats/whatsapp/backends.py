"""Where sends go, chosen by WHATSAPP_BACKEND like Django's email backends.

- `cloud`: Meta's Cloud API over HTTP (chats.whatsapp.client), rate-limited per number.
- `sandbox`: offline. Accepts every send, gives it a wamid, then plays Meta's
  sent → delivered → read status webhooks, signed with the app secret, through
  the real inbound path (chats.inbound.webhook_receive).
A dotted path to a class with the same methods also works.
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

from chats.whatsapp import ratelimit
from chats.whatsapp.client import GraphClient, GraphError

BACKENDS = {
    "cloud": "chats.whatsapp.backends.CloudBackend",
    "sandbox": "chats.whatsapp.backends.SandboxBackend",
}

# Seconds after the send at which the sandbox plays each status (a real worker honours them; eager runs at once).
SANDBOX_STATUS_DELAYS = (("sent", 0), ("delivered", 1), ("read", 3))


@dataclass
class SendResult:
    wamid: str
    phone_number_id: str
    to: str
    raw: dict


class CloudBackend:
    name = "cloud"

    def send(self, *, phone_number_id: str, access_token: str, payload: dict) -> SendResult:
        """Hand one message to Meta, within the number's rate. Raises client errors or RateLimited."""
        data = GraphClient(access_token=access_token).send_message(
            phone_number_id=phone_number_id, payload=payload,
            before_send=lambda: ratelimit.wait_for_slot(phone_number_id=phone_number_id),
        )
        messages = data.get("messages") or []
        wamid = messages[0].get("id") if messages and isinstance(messages[0], dict) else None
        if not wamid:
            raise GraphError(http_status=502, code=None, title="Meta's answer had no message id", raw=data)
        return SendResult(wamid=str(wamid), phone_number_id=phone_number_id, to=payload.get("to", ""), raw=data)

    def message_stored(self, *, result: SendResult) -> None:
        """Called after the wamid is committed. Meta sends its own status webhooks."""

    def message_templates(self, *, waba_id: str, access_token: str) -> list[dict] | None:
        return GraphClient(access_token=access_token).message_templates(waba_id=waba_id)


def _play_in_thread(task, args: list) -> None:
    from django.db import close_old_connections

    try:
        task.apply(args=args)
    finally:
        close_old_connections()


class SandboxBackend:
    name = "sandbox"

    def send(self, *, phone_number_id: str, access_token: str, payload: dict) -> SendResult:
        wamid = f"wamid.SANDBOX.{uuid.uuid4().hex}"
        data = {
            "messaging_product": "whatsapp",
            "contacts": [{"input": payload.get("to", ""), "wa_id": payload.get("to", "")}],
            "messages": [{"id": wamid}],
        }
        return SendResult(wamid=wamid, phone_number_id=phone_number_id, to=payload.get("to", ""), raw=data)

    def message_stored(self, *, result: SendResult) -> None:
        from chats.tasks import sandbox_status_task

        args = [result.phone_number_id, result.wamid, result.to]
        paced = settings.WHATSAPP_SANDBOX_PACED and sandbox_status_task.app.conf.task_always_eager

        def play():
            for status, delay in SANDBOX_STATUS_DELAYS:
                if paced and delay:
                    # Eager Celery ignores countdowns; a timer thread keeps the ticks arriving
                    # one by one, as a rep would see them with Meta, instead of all at once.
                    timer = threading.Timer(delay, _play_in_thread, args=[sandbox_status_task, [*args, status]])
                    timer.daemon = True
                    timer.start()
                else:
                    sandbox_status_task.apply_async(args=[*args, status], countdown=delay)

        transaction.on_commit(play, robust=True)

    def message_templates(self, *, waba_id: str, access_token: str) -> list[dict] | None:
        """No remote source: the templates in the database are the truth."""
        return None


def get_backend(name: str | None = None):
    path = name or settings.WHATSAPP_BACKEND
    return import_string(BACKENDS.get(path, path))()


# --- Meta-shaped bodies (used by the sandbox and the HCP simulator) ----------------------

def _envelope(*, waba_id: str, phone_number_id: str, display_phone_number: str, value: dict) -> bytes:
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": waba_id or "0",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": display_phone_number,
                                "phone_number_id": phone_number_id,
                            },
                        }
                        | value,
                    }
                ],
            }
        ],
    }
    return json.dumps(body, separators=(",", ":")).encode()


def status_body(*, waba_id: str, phone_number_id: str, display_phone_number: str, wamid: str,
                recipient_id: str, status: str, timestamp: int | None = None) -> bytes:
    """A status webhook body as Meta posts it."""
    status_item = {
        "id": wamid,
        "status": status,
        "timestamp": str(timestamp or int(time.time())),
        "recipient_id": recipient_id,
    }
    if status != "read":
        status_item["conversation"] = {"id": uuid.uuid4().hex, "origin": {"type": "service"}}
        status_item["pricing"] = {"billable": True, "pricing_model": "PMP", "category": "service"}
    return _envelope(waba_id=waba_id, phone_number_id=phone_number_id, display_phone_number=display_phone_number,
                     value={"statuses": [status_item]})


def text_message_body(*, waba_id: str, phone_number_id: str, display_phone_number: str, wa_from: str,
                      text: str, profile_name: str = "", wamid: str | None = None,
                      timestamp: int | None = None, context_wamid: str = "") -> bytes:
    """An HCP's text message webhook body as Meta posts it."""
    message = {
        "from": wa_from,
        "id": wamid or f"wamid.SIM.{uuid.uuid4().hex}",
        "timestamp": str(timestamp or int(time.time())),
        "type": "text",
        "text": {"body": text},
    }
    if context_wamid:
        message["context"] = {"from": display_phone_number, "id": context_wamid}
    return _envelope(
        waba_id=waba_id, phone_number_id=phone_number_id, display_phone_number=display_phone_number,
        value={"contacts": [{"profile": {"name": profile_name}, "wa_id": wa_from}], "messages": [message]},
    )
