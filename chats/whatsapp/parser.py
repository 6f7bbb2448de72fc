"""Meta webhook bodies parsed into plain dataclasses.

The parser is total: any JSON object gives a `WebhookBody`; shapes it does not
know become `kind="unsupported"` messages or are skipped with a note, never an
exception. Meta adds fields and message types over time, so everything is read
with `.get` and defaults.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone as dt_timezone

from chats.whatsapp import rich
from chats.whatsapp.updates import (InboundMessage, MetaError, PayloadError, PreferenceUpdate, ReactionUpdate,
                                    StatusUpdate, TemplateStatusUpdate, WebhookBody)

# Meta message types that carry a file Rapport fetches from Meta (chats/media/fetch.py).
MEDIA_TYPES = ("image", "video", "document", "audio", "sticker")
MEDIA_LABELS = {"image": "photo", "video": "video", "document": "document", "audio": "audio message",
                "sticker": "sticker"}
# What a media message's object may say of its file, kept as Meta wrote it. Meta's own `url` (newer
# webhooks carry one) is not kept: it needs the token, lives minutes, and `url` is Rapport's own link.
MEDIA_FIELDS = ("id", "mime_type", "sha256", "caption", "filename", "voice", "animated")


def parse_body(raw: bytes | str) -> WebhookBody:
    """Parse one raw webhook body (as Meta posted it)."""
    try:
        # NUL cannot be stored in PostgreSQL text; a message carrying one must still be kept.
        data = json.loads(raw, object_hook=_without_nul, parse_constant=_reject_constant)
    except (TypeError, ValueError) as exc:
        raise PayloadError(f"not JSON: {exc}") from exc
    except RecursionError:  # the decoder recurses once per level: a few kB of brackets exhaust it
        raise PayloadError("not JSON Meta sends: nested too deep") from None
    if not isinstance(data, dict):
        raise PayloadError("not a JSON object")
    try:
        return parse_data(data)
    except RecursionError:
        raise PayloadError("not JSON Meta sends: nested too deep") from None


def _strip_nul(value):
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_strip_nul(item) for item in value]
    return value


def _without_nul(obj: dict) -> dict:
    return {_strip_nul(key): _strip_nul(value) for key, value in obj.items()}


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def parse_data(data: dict) -> WebhookBody:
    out = WebhookBody()
    for entry in _list(data.get("entry")):
        if not isinstance(entry, dict):
            continue
        waba_id = str(entry.get("id") or "")
        for change in _list(entry.get("changes")):
            if not isinstance(change, dict):
                continue
            field_name = change.get("field")
            value = change.get("value") if isinstance(change.get("value"), dict) else {}
            if field_name == "messages":
                _parse_messages_value(value, out)
            elif field_name == "message_template_status_update":
                out.template_updates.append(_parse_template_update(waba_id, value))
            elif field_name in _TEMPLATE_VALUE_FIELDS:
                kind, key = _TEMPLATE_VALUE_FIELDS[field_name]
                new_value = str(value.get(key) or "")
                out.template_updates.append(TemplateStatusUpdate(
                    waba_id=waba_id, kind=kind, event=new_value if kind == "components" else new_value.upper(),
                    template_id=str(value.get("message_template_id") or ""),
                    name=str(value.get("message_template_name") or ""),
                    language=str(value.get("message_template_language") or ""),
                ))
            elif field_name == "user_preferences":
                _parse_preferences_value(value, out)
            else:
                out.skipped.append(f"field {field_name!r}")
    return out


def _parse_messages_value(value: dict, out: WebhookBody) -> None:
    metadata = _dict(value.get("metadata"))
    phone_number_id = str(metadata.get("phone_number_id") or "")
    display = str(metadata.get("display_phone_number") or "")
    contacts = [c for c in _list(value.get("contacts")) if isinstance(c, dict)]
    value_errors = _errors(value.get("errors"))
    for raw in _list(value.get("messages")):
        if not isinstance(raw, dict) or not raw.get("id"):
            out.skipped.append("message without id")
            continue
        if raw.get("type") == "reaction":
            out.reactions.append(parse_reaction(raw, phone_number_id=phone_number_id))
            continue
        message = parse_message(raw, phone_number_id=phone_number_id, display_phone_number=display)
        _add_contact(message, contacts)
        if value_errors and not message.errors:
            message.errors = value_errors
        out.messages.append(message)
    for raw in _list(value.get("statuses")):
        if not isinstance(raw, dict) or not raw.get("id"):
            out.skipped.append("status without id")
            continue
        out.statuses.append(
            StatusUpdate(
                wamid=str(raw["id"]),
                status=str(raw.get("status") or ""),
                timestamp=parse_timestamp(raw.get("timestamp")),
                recipient_id=str(raw.get("recipient_id") or ""),
                recipient_user_id=str(raw.get("recipient_user_id") or ""),
                phone_number_id=phone_number_id,
                errors=_errors(raw.get("errors")),
                conversation=_dict(raw.get("conversation")),
                pricing=_dict(raw.get("pricing")),
                callback_data=str(raw.get("biz_opaque_callback_data") or ""),
            )
        )


def _parse_preferences_value(value: dict, out: WebhookBody) -> None:
    phone_number_id = str(_dict(value.get("metadata")).get("phone_number_id") or "")
    for raw in _list(value.get("user_preferences")):
        if not isinstance(raw, dict) or not (raw.get("wa_id") or raw.get("user_id")):
            out.skipped.append("user preference without wa_id or user_id")
            continue
        out.preferences.append(PreferenceUpdate(
            wa_id=str(raw.get("wa_id") or ""), user_id=str(raw.get("user_id") or ""),
            category=str(raw.get("category") or ""),
            value=str(raw.get("value") or "").lower(), detail=str(raw.get("detail") or "")[:255],
            timestamp=parse_timestamp(raw.get("timestamp")), phone_number_id=phone_number_id,
        ))


def _add_contact(message: InboundMessage, contacts: list[dict]) -> None:
    """The sender's profile name, user id, parent user id and username, from `value.contacts`: the contact
    whose wa_id or user_id is the sender's, else the only one (Meta sends one per message)."""
    def is_sender(contact: dict) -> bool:
        return (bool(message.wa_from) and str(contact.get("wa_id") or "") == message.wa_from) or (
            bool(message.wa_user_id) and str(contact.get("user_id") or "") == message.wa_user_id)

    contact = next((c for c in contacts if is_sender(c)), contacts[0] if len(contacts) == 1 else {})
    if message.wa_type == "system" or not contact:
        return  # a system notice names the old identity in `from`; its contact (if any) may be the new one
    profile = _dict(contact.get("profile"))
    message.profile_name = str(profile.get("name") or "")
    message.wa_user_id = message.wa_user_id or str(contact.get("user_id") or "")
    message.wa_parent_user_id = message.wa_parent_user_id or str(contact.get("parent_user_id") or "")
    message.wa_username = str(profile.get("username") or contact.get("username") or "")
    if not message.wa_from and contact.get("wa_id") and (
            not message.wa_user_id or str(contact.get("user_id") or "") == message.wa_user_id):
        message.wa_from = str(contact["wa_id"])


def parse_message(raw: dict, *, phone_number_id: str, display_phone_number: str = "") -> InboundMessage:
    """One entry of `value.messages`, whatever its type."""
    wa_type = str(raw.get("type") or "unknown")
    context = _dict(raw.get("context"))
    message = InboundMessage(
        wamid=str(raw["id"]),
        wa_from=str(raw.get("from") or ""),
        wa_user_id=str(raw.get("from_user_id") or ""),
        wa_parent_user_id=str(raw.get("from_parent_user_id") or ""),
        phone_number_id=phone_number_id,
        display_phone_number=display_phone_number,
        timestamp=parse_timestamp(raw.get("timestamp")),
        wa_type=wa_type,
        kind="unsupported",
        body="",
        context_wamid=str(context.get("id") or ""),
        forwarded=bool(context.get("forwarded") or context.get("frequently_forwarded")),
        errors=_errors(raw.get("errors")),
    )
    content = _dict(raw.get(wa_type))
    if wa_type == "text":
        message.kind, message.body = "text", str(content.get("body") or "")
    elif wa_type == "button":  # quick-reply button on a template
        message.kind, message.body = "text", str(content.get("text") or content.get("payload") or "")
        message.media = {"button_payload": content.get("payload", "")}
    elif wa_type == "interactive" and content:
        readable = rich.interactive(content)
        if readable:
            message.kind, (message.body, message.media) = "text", readable
        else:
            message.body = _placeholder("interactive reply")
            message.media = {"type": wa_type, "content": content}
    elif wa_type == "location":
        message.kind, (message.body, message.media) = "location", rich.location(content)
    elif wa_type == "contacts" and isinstance(raw.get("contacts"), list) and raw["contacts"]:
        message.kind, (message.body, message.media) = "contacts", rich.contacts(raw["contacts"])
    elif wa_type in MEDIA_TYPES:
        label = "voice message" if content.get("voice") else MEDIA_LABELS[wa_type]
        message.kind = "inbound_media"
        message.body = str(content.get("caption") or "") or f"[{label}]"
        message.media = {"type": wa_type, "label": label} | {k: content[k] for k in MEDIA_FIELDS if k in content}
        # Fetched after the message is stored; without an id there is nothing Meta could give us.
        message.media["status"] = "pending" if content.get("id") else "failed"
        if not content.get("id"):
            message.media["failure"] = "Meta's webhook named no media id"
    elif wa_type == "system":
        message.kind, message.body = "system", str(content.get("body") or "[system notice]")
        # user_changed_number: `wa_id` is the new number; user_changed_user_id: `user_id` the new id.
        message.media = {"system_type": str(content.get("type") or ""), "wa_id": str(content.get("wa_id") or "")} | {
            key: str(content[key]) for key in ("user_id", "parent_user_id", "previous_user_id") if content.get(key)}
        message.opens_window = False
    else:
        message.body = _unsupported_body(wa_type, content)
        message.media = {"type": wa_type, "content": content} if content else {"type": wa_type}
        message.opens_window = wa_type not in ("revoke", "edit")
    if isinstance(raw.get("referral"), dict):
        message.media = {**message.media, "referral": raw["referral"]}
    return message


def parse_reaction(raw: dict, *, phone_number_id: str) -> ReactionUpdate:
    """A `reaction` entry of `value.messages`: Meta sends a removal with no `emoji`, or an empty one."""
    content = _dict(raw.get("reaction"))
    return ReactionUpdate(
        wamid=str(raw["id"]), message_wamid=str(content.get("message_id") or ""),
        emoji=str(content.get("emoji") or "").strip(), wa_from=str(raw.get("from") or ""),
        phone_number_id=phone_number_id, timestamp=parse_timestamp(raw.get("timestamp")),
        from_user_id=str(raw.get("from_user_id") or ""),
    )


def _unsupported_body(wa_type: str, content: dict) -> str:
    if wa_type == "contacts":
        return _placeholder("contact card")
    if wa_type == "revoke":
        return "[the HCP deleted a message]"
    if wa_type == "edit":
        return _placeholder("edit of an earlier message")
    if wa_type == "unsupported":
        return _placeholder("a message type WhatsApp could not pass on")
    return _placeholder(wa_type.replace("_", " "))


def _placeholder(what: str) -> str:
    return f"[{what} — not shown in Rapport]"


# Template fields whose webhook carries one new value: (kind, the value's key).
_TEMPLATE_VALUE_FIELDS = {
    "message_template_quality_update": ("quality", "new_quality_score"),
    "template_category_update": ("category", "new_category"),
    "message_template_components_update": ("components", "message_template_element"),  # the body text
}


def _parse_template_update(waba_id: str, value: dict) -> TemplateStatusUpdate:
    rejection = _dict(value.get("rejection_info"))
    reason = str(value.get("reason") or "")
    if reason.upper() == "NONE":
        reason = ""
    if rejection.get("reason"):
        reason = f"{reason}: {rejection['reason']}" if reason else str(rejection["reason"])
    return TemplateStatusUpdate(
        waba_id=waba_id,
        event=str(value.get("event") or "").upper(),
        template_id=str(value.get("message_template_id") or ""),
        name=str(value.get("message_template_name") or ""),
        language=str(value.get("message_template_language") or ""),
        reason=reason[:255],
        category=str(value.get("message_template_category") or ""),
    )


def parse_timestamp(raw) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(raw), tz=dt_timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _errors(raw) -> list[MetaError]:
    errors = []
    for item in _list(raw):
        if not isinstance(item, dict):
            continue
        try:
            code = int(item.get("code"))
        except (TypeError, ValueError):
            code = None
        errors.append(
            MetaError(
                code=code,
                title=str(item.get("title") or item.get("message") or ""),
                message=str(item.get("message") or ""),
                details=str(_dict(item.get("error_data")).get("details") or ""),
            )
        )
    return errors


def _list(value) -> list:
    return value if isinstance(value, list) else []


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}
