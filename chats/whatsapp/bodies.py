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
    """A status webhook body as Meta posts it. `recipient_id` is the HCP's number (digits) or, for a send
    that went to a user id, that user id (Meta then names it `recipient_user_id`)."""
    status_item = {
        "id": wamid,
        "status": status,
        "timestamp": str(timestamp or int(time.time())),
    } | ({"recipient_id": recipient_id} if recipient_id.isdigit() else {"recipient_user_id": recipient_id})
    if status != "read":
        status_item["conversation"] = {"id": uuid.uuid4().hex, "origin": {"type": "service"}}
        status_item["pricing"] = {"billable": True, "pricing_model": "PMP", "category": "service"}
    return _envelope(waba_id=waba_id, phone_number_id=phone_number_id, display_phone_number=display_phone_number,
                     value={"statuses": [status_item]})


def _sender(wa_from: str) -> tuple[dict, dict]:
    """How a message and its contact name the HCP: by number (`from`, `wa_id`) or, for an HCP who shows a
    username instead, by business-scoped user id only (`from_user_id`, `user_id`)."""
    if wa_from.isdigit():
        return {"from": wa_from}, {"wa_id": wa_from}
    return {"from_user_id": wa_from}, {"user_id": wa_from}


def text_message_body(*, waba_id: str, phone_number_id: str, display_phone_number: str, wa_from: str,
                      text: str, profile_name: str = "", wamid: str | None = None,
                      timestamp: int | None = None, context_wamid: str = "") -> bytes:
    """An HCP's text message webhook body as Meta posts it. `wa_from` is the HCP's number (digits) or, for
    an HCP who shows a username instead, their business-scoped user id (then the body has no number)."""
    sender, contact = _sender(wa_from)
    message = sender | {
        "id": wamid or f"wamid.SIM.{uuid.uuid4().hex}",
        "timestamp": str(timestamp or int(time.time())),
        "type": "text",
        "text": {"body": text},
    }
    if context_wamid:
        message["context"] = {"from": display_phone_number, "id": context_wamid}
    return _envelope(
        waba_id=waba_id, phone_number_id=phone_number_id, display_phone_number=display_phone_number,
        value={"contacts": [{"profile": {"name": profile_name}} | contact], "messages": [message]},
    )


def media_message_body(*, waba_id: str, phone_number_id: str, display_phone_number: str, wa_from: str,
                       wa_type: str, media: dict, profile_name: str = "", wamid: str | None = None,
                       timestamp: int | None = None) -> bytes:
    """An HCP's image, video, document, audio or sticker as Meta posts it: `media` is the type's object
    (`id`, `mime_type`, `sha256`, and `caption`, `filename`, `voice` or `animated` as the type has them)."""
    sender, contact = _sender(wa_from)
    message = sender | {
        "id": wamid or f"wamid.SIM.{uuid.uuid4().hex}",
        "timestamp": str(timestamp or int(time.time())),
        "type": wa_type,
        wa_type: media,
    }
    return _envelope(
        waba_id=waba_id, phone_number_id=phone_number_id, display_phone_number=display_phone_number,
        value={"contacts": [{"profile": {"name": profile_name}} | contact], "messages": [message]},
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
