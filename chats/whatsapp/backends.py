"""Where sends go, chosen by WHATSAPP_BACKEND like Django's email backends.

- `cloud`: Meta's Cloud API over HTTP (chats.whatsapp.client), rate-limited per number.
- `sandbox`: offline. Accepts every send and gives it a wamid. The status webhooks Meta
  would send are played by development tooling (chats/devtools/sandbox.py), which
  WHATSAPP_BACKENDS names for `sandbox`.
A dotted path to a class with the same methods also works.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string

from chats.whatsapp import ratelimit, sandbox_media
from chats.whatsapp.client import GraphClient, GraphError, MediaTooLarge, read_payload

SANDBOX_MEDIA_URL = "sandbox-media:"  # the sandbox's download "url": this prefix and the media id


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
        return SendResult(wamid=str(wamid), phone_number_id=phone_number_id, to=_addressee(payload), raw=data)

    def message_stored(self, *, result: SendResult) -> None:
        """Called after the wamid is committed. Meta sends its own status webhooks."""

    def message_templates(self, *, waba_id: str, access_token: str) -> list[dict] | None:
        return GraphClient(access_token=access_token).message_templates(waba_id=waba_id)

    def mark_read(self, *, phone_number_id: str, access_token: str, wamid: str, typing_indicator: bool = False) -> None:
        """Tell Meta the HCP's message `wamid` was read (and show our typing indicator), within the number's
        rate. Raises client errors or RateLimited; Meta answers `{"success": true}`."""
        data = GraphClient(access_token=access_token).send_message(
            phone_number_id=phone_number_id, payload=read_payload(wamid=wamid, typing_indicator=typing_indicator),
            before_send=lambda: ratelimit.wait_for_slot(phone_number_id=phone_number_id),
        )
        if data.get("success") is not True:
            raise GraphError(http_status=502, code=None, title="Meta did not confirm the read status", raw=data)

    def media_info(self, *, media_id: str, access_token: str) -> dict:
        """Meta's description of an HCP's file: its short-lived download `url`, `mime_type`, `sha256`, `file_size`."""
        return GraphClient(access_token=access_token).media_info(media_id=media_id)

    def media_download(self, *, url: str, access_token: str, into, max_bytes: int) -> int:
        """Stream the file at `url` into `into`; its size. MediaTooLarge past `max_bytes`."""
        return GraphClient(access_token=access_token).media_download(url=url, into=into, max_bytes=max_bytes)


class SandboxBackend:
    """Accepts every send offline; plays no statuses of its own (a subclass may, in message_stored)."""

    name = "sandbox"

    def send(self, *, phone_number_id: str, access_token: str, payload: dict) -> SendResult:
        wamid = f"wamid.SANDBOX.{uuid.uuid4().hex}"
        data = {
            "messaging_product": "whatsapp",
            "contacts": [{"input": _addressee(payload)} | (
                {"wa_id": payload["to"]} if payload.get("to") else {"user_id": payload.get("recipient", "")})],
            "messages": [{"id": wamid}],
        }
        return SendResult(wamid=wamid, phone_number_id=phone_number_id, to=_addressee(payload), raw=data)

    def message_stored(self, *, result: SendResult) -> None:
        """Called after the wamid is committed."""

    def message_templates(self, *, waba_id: str, access_token: str) -> list[dict] | None:
        """No remote source: the templates in the database are the truth."""
        return None

    def mark_read(self, *, phone_number_id: str, access_token: str, wamid: str, typing_indicator: bool = False) -> None:
        """Offline: there is no HCP's phone to show blue ticks or a typing indicator on."""

    def media_info(self, *, media_id: str, access_token: str) -> dict:
        """What the simulator stored under `media_id` (chats/whatsapp/sandbox_media.py); 404 as Meta says it."""
        info = sandbox_media.sandbox_media_info(media_id)
        if info is None:
            raise GraphError(http_status=404, code=100, title="Unsupported get request: no such media in the sandbox")
        return {"messaging_product": "whatsapp", "url": SANDBOX_MEDIA_URL + media_id, **info}

    def media_download(self, *, url: str, access_token: str, into, max_bytes: int) -> int:
        path = sandbox_media.sandbox_media_path(url.removeprefix(SANDBOX_MEDIA_URL))
        if path is None:
            raise GraphError(http_status=404, code=None, title="the sandbox has no such file")
        size = path.stat().st_size
        if size > max_bytes:
            raise MediaTooLarge(size, max_bytes)
        with path.open("rb") as source:
            while chunk := source.read(64 * 1024):
                into.write(chunk)
        return size


def _addressee(payload: dict) -> str:
    """Who a send went to: the phone number's digits (`to`) or the user id (`recipient`)."""
    return str(payload.get("to") or payload.get("recipient") or "")


def get_backend(name: str | None = None):
    path = name or settings.WHATSAPP_BACKEND
    return import_string(settings.WHATSAPP_BACKENDS.get(path, path))()
