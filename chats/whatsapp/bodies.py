"""Webhook bodies shaped as Meta posts them: for the sandbox's statuses and the HCP simulator."""
from __future__ import annotations

import json
import time
import uuid


def _envelope(*, waba_id: str, phone_number_id: str, display_phone_number: str, value: dict,
              field: str = "messages") -> bytes:
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": waba_id or "0",
                "changes": [
                    {
                        "field": field,
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


def media_message_body(*, waba_id: str, phone_number_id: str, display_phone_number: str, wa_from: str,
                       wa_type: str, media: dict, profile_name: str = "", wamid: str | None = None,
                       timestamp: int | None = None) -> bytes:
    """An HCP's image, video, document, audio or sticker as Meta posts it: `media` is the type's object
    (`id`, `mime_type`, `sha256`, and `caption`, `filename`, `voice` or `animated` as the type has them)."""
    message = {
        "from": wa_from,
        "id": wamid or f"wamid.SIM.{uuid.uuid4().hex}",
        "timestamp": str(timestamp or int(time.time())),
        "type": wa_type,
        wa_type: media,
    }
    return _envelope(
        waba_id=waba_id, phone_number_id=phone_number_id, display_phone_number=display_phone_number,
        value={"contacts": [{"profile": {"name": profile_name}, "wa_id": wa_from}], "messages": [message]},
    )


def user_preferences_body(*, waba_id: str, phone_number_id: str, display_phone_number: str, wa_id: str,
                          value: str, timestamp: int | None = None) -> bytes:
    """An HCP stopping (`stop`) or resuming (`resume`) marketing messages in WhatsApp's settings."""
    detail = {"stop": "User requested to stop marketing messages",
              "resume": "User requested to resume marketing messages"}.get(value, "")
    return _envelope(
        waba_id=waba_id, phone_number_id=phone_number_id, display_phone_number=display_phone_number,
        field="user_preferences",
        value={
            "contacts": [{"profile": {"name": "HCP"}, "wa_id": wa_id}],
            "user_preferences": [{"wa_id": wa_id, "detail": detail, "category": "marketing_messages",
                                  "value": value, "timestamp": int(timestamp or time.time())}],
        },
    )
