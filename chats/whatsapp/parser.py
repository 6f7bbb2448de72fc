"""Meta webhook bodies parsed into plain dataclasses.

The parser is total: any JSON object gives a `WebhookBody`; shapes it does not
know become `kind="unsupported"` messages or are skipped with a note, never an
exception. Meta adds fields and message types over time, so everything is read
with `.get` and defaults.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone as dt_timezone

# Meta message types that carry a file Rapport fetches from Meta (chats/media/fetch.py).
MEDIA_TYPES = ("image", "video", "document", "audio", "sticker")
MEDIA_LABELS = {"image": "photo", "video": "video", "document": "document", "audio": "audio message",
                "sticker": "sticker"}
# What a media message's object may say of its file, kept as Meta wrote it. Meta's own `url` (newer
# webhooks carry one) is not kept: it needs the token, lives minutes, and `url` is Rapport's own link.
MEDIA_FIELDS = ("id", "mime_type", "sha256", "caption", "filename", "voice", "animated")


@dataclass
class MetaError:
    code: int | None
    title: str = ""
    message: str = ""
    details: str = ""


@dataclass
class InboundMessage:
    """One HCP message. `kind` is Rapport's Message.Kind; `wa_type` is Meta's."""

    wamid: str
    wa_from: str
    phone_number_id: str
    display_phone_number: str
    timestamp: datetime | None
    wa_type: str
    kind: str
    body: str
    profile_name: str = ""
    context_wamid: str = ""
    forwarded: bool = False
    media: dict = field(default_factory=dict)
    errors: list[MetaError] = field(default_factory=list)
    # System notices and edits/revokes are not the HCP writing to us, so they do not roll the window.
    opens_window: bool = True


@dataclass
class StatusUpdate:
    wamid: str
    status: str
    timestamp: datetime | None
    recipient_id: str
    phone_number_id: str
    errors: list[MetaError] = field(default_factory=list)
    conversation: dict = field(default_factory=dict)
    pricing: dict = field(default_factory=dict)
    callback_data: str = ""


@dataclass
class TemplateStatusUpdate:
    """A template event from Meta. `kind` is "status" (`event` the new status), "quality" (`event`
    the new quality score: GREEN, YELLOW, RED, UNKNOWN), "category" (`event` the new category) or
    "components" (`event` the edited body text)."""

    waba_id: str
    event: str
    template_id: str
    name: str
    language: str
    reason: str = ""
    category: str = ""
    kind: str = "status"


@dataclass
class PreferenceUpdate:
    """An HCP stopped or resumed marketing messages in WhatsApp's own settings (`user_preferences`)."""

    wa_id: str
    category: str
    value: str
    detail: str = ""
    timestamp: datetime | None = None
    phone_number_id: str = ""


@dataclass
class WebhookBody:
    messages: list[InboundMessage] = field(default_factory=list)
    statuses: list[StatusUpdate] = field(default_factory=list)
    template_updates: list[TemplateStatusUpdate] = field(default_factory=list)
    preferences: list[PreferenceUpdate] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


class PayloadError(ValueError):
    """The body is not JSON or not an object: nothing in it can be processed."""


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
    names = {
        str(c.get("wa_id")): _dict(c.get("profile")).get("name", "")
        for c in _list(value.get("contacts"))
        if isinstance(c, dict)
    }
    value_errors = _errors(value.get("errors"))
    for raw in _list(value.get("messages")):
        if not isinstance(raw, dict) or not raw.get("id"):
            out.skipped.append("message without id")
            continue
        message = parse_message(raw, phone_number_id=phone_number_id, display_phone_number=display)
        message.profile_name = names.get(message.wa_from, "")
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
        if not isinstance(raw, dict) or not raw.get("wa_id"):
            out.skipped.append("user preference without wa_id")
            continue
        out.preferences.append(PreferenceUpdate(
            wa_id=str(raw["wa_id"]), category=str(raw.get("category") or ""),
            value=str(raw.get("value") or "").lower(), detail=str(raw.get("detail") or "")[:255],
            timestamp=parse_timestamp(raw.get("timestamp")), phone_number_id=phone_number_id,
        ))


def parse_message(raw: dict, *, phone_number_id: str, display_phone_number: str = "") -> InboundMessage:
    """One entry of `value.messages`, whatever its type."""
    wa_type = str(raw.get("type") or "unknown")
    context = _dict(raw.get("context"))
    message = InboundMessage(
        wamid=str(raw["id"]),
        wa_from=str(raw.get("from") or ""),
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
        reply_type = str(content.get("type") or "")
        reply = _dict(content.get(reply_type))
        title = str(reply.get("title") or "")
        if title:
            message.kind, message.body = "text", title
            message.media = {"interactive": reply_type, "reply_id": reply.get("id", "")}
        else:
            message.body = _placeholder("interactive reply")
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
        message.media = {"system_type": content.get("type", ""), "wa_id": content.get("wa_id", "")}
        message.opens_window = False
    else:
        message.body = _unsupported_body(wa_type, content)
        message.media = {"type": wa_type, "content": content} if content else {"type": wa_type}
        message.opens_window = wa_type not in ("revoke", "edit")
    if isinstance(raw.get("referral"), dict):
        message.media = {**message.media, "referral": raw["referral"]}
    return message


def _unsupported_body(wa_type: str, content: dict) -> str:
    if wa_type == "reaction":
        emoji = content.get("emoji")
        return _placeholder(f"reaction {emoji}" if emoji else "reaction removed")
    if wa_type == "location":
        where = ", ".join(str(content[k]) for k in ("name", "address") if content.get(k))
        return _placeholder(f"location: {where}" if where else "location")
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
