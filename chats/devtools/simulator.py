"""The offline side of WhatsApp: an HCP writing in, and Meta's statuses for sandbox sends.

Both build bodies shaped like Meta's, sign them like Meta does and go through
`webhook_receive`, the same path as real webhooks.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from django.conf import settings

from chats.ingress.receive import ReceiveOutcome, webhook_receive
from chats.models import Account, Message, PhoneNumber
from chats.models.phones import WHATSAPP_USER_ID, normalize_e164
from chats.whatsapp import bodies, signatures
from chats.whatsapp.sandbox_media import sandbox_media_put


@dataclass
class SimulatedFile:
    """A file the simulated HCP sends: its bytes, MIME type and name (a document keeps its name)."""

    content: bytes
    mime_type: str
    filename: str = ""


def media_type_of(mime_type: str) -> str:
    """Meta's message type for a file: image, video, audio, else document (webp images come as stickers)."""
    mime_type = mime_type.split(";")[0].strip().lower()
    if mime_type == "image/webp":
        return "sticker"
    if mime_type in ("image/jpeg", "image/png"):
        return "image"
    return {"video": "video", "audio": "audio"}.get(mime_type.partition("/")[0], "document")


@dataclass
class SimulatedInbound:
    outcome: ReceiveOutcome
    wamid: str
    message: Message | None


class _BusinessNumber:
    """The business number a simulated webhook is addressed to, as Meta's envelope names it
    (an unknown phone_number_id still gets a body: ingress keeps it as unrouted)."""

    def __init__(self, phone_number_id: str):
        number = PhoneNumber.objects.select_related("waba").filter(phone_number_id=phone_number_id).first()
        self.envelope = {
            "waba_id": number.waba.waba_id if number else "0",
            "phone_number_id": phone_number_id,
            "display_phone_number": number.display_phone_number if number else "",
        }
        self.secret = number.waba.effective_app_secret if number is not None else settings.WHATSAPP_APP_SECRET

    def deliver(self, body: bytes) -> ReceiveOutcome:
        """Sign `body` as Meta would and receive it through the real webhook path."""
        return webhook_receive(body=body, signature=signatures.sign(body, self.secret))


def _inbound_text(*, wa_from: str, phone_number_id: str, text: str, wamid: str | None, timestamp: int | None,
                  context_wamid: str, file: SimulatedFile | None = None) -> tuple[_BusinessNumber, bytes, str]:
    if WHATSAPP_USER_ID.match(wa_from):  # an HCP known by user id alone (a WhatsApp username)
        sender, account = wa_from, Account.objects.filter(whatsapp_user_id=wa_from).first()
    else:
        sender = normalize_e164(wa_from).lstrip("+")
        account = Account.objects.filter(whatsapp_number="+" + sender).first()
    number = _BusinessNumber(phone_number_id)
    profile_name = account.name if account else ""
    if file is None:
        body = bodies.text_message_body(**number.envelope, wa_from=sender, text=text, profile_name=profile_name,
                                        wamid=wamid, timestamp=timestamp, context_wamid=context_wamid)
    else:
        # The file goes to the sandbox's media store, as an HCP's upload goes to Meta's; the webhook names its id.
        wa_type = media_type_of(file.mime_type)
        media = {k: v for k, v in sandbox_media_put(data=file.content, mime_type=file.mime_type).items()
                 if k in ("id", "mime_type", "sha256")}
        if text and wa_type not in ("sticker", "audio"):  # Meta carries no caption on these
            media["caption"] = text
        if wa_type == "document":
            media["filename"] = file.filename or "document"
        body = bodies.media_message_body(**number.envelope, wa_from=sender, wa_type=wa_type, media=media,
                                         profile_name=profile_name, wamid=wamid, timestamp=timestamp)
    return number, body, json.loads(body)["entry"][0]["changes"][0]["value"]["messages"][0]["id"]


def simulate_inbound(*, wa_from: str, phone_number_id: str, text: str, wamid: str | None = None,
                     timestamp: int | None = None, context_wamid: str = "",
                     file: SimulatedFile | None = None) -> SimulatedInbound:
    """An HCP's text message (or, with `file`, an image, video, audio or document with `text` as its caption),
    delivered as a signed Meta webhook in this process. `wa_from` is a phone number (a plus sign is fine) or a
    WhatsApp user id."""
    number, body, sent_wamid = _inbound_text(wa_from=wa_from, phone_number_id=phone_number_id, text=text,
                                             wamid=wamid, timestamp=timestamp, context_wamid=context_wamid, file=file)
    outcome = number.deliver(body)
    return SimulatedInbound(outcome, sent_wamid, Message.objects.filter(wamid=sent_wamid).first())


def post_inbound(*, server: str, wa_from: str, phone_number_id: str, text: str, context_wamid: str = "",
                 wait_seconds: float = 3.0, file: SimulatedFile | None = None) -> tuple[int, str, Message | None]:
    """The same message POSTed, signed, to a running server's webhook, so it is received there and its
    live events reach that server's open sockets (the embedded profile's channel layer is per process).
    Returns (HTTP status, the wamid, the stored message once the server processed it, else None)."""
    import time

    import httpx

    number, body, sent_wamid = _inbound_text(wa_from=wa_from, phone_number_id=phone_number_id, text=text,
                                             wamid=None, timestamp=None, context_wamid=context_wamid, file=file)
    response = httpx.post(server.rstrip("/") + "/webhooks/whatsapp/", content=body, timeout=10.0, headers={
        "Content-Type": "application/json", "X-Hub-Signature-256": signatures.sign(body, number.secret)})
    deadline = time.monotonic() + wait_seconds
    message = None
    while response.status_code == 200 and message is None and time.monotonic() < deadline:
        message = Message.objects.select_related("thread__user").filter(wamid=sent_wamid).first()
        if message is None:
            time.sleep(0.1)
    return response.status_code, sent_wamid, message


def play_status(*, phone_number_id: str, wamid: str, recipient_id: str, status: str) -> ReceiveOutcome:
    """Meta's status webhook for one of our sends, as the sandbox plays it."""
    number = _BusinessNumber(phone_number_id)
    return number.deliver(bodies.status_body(**number.envelope, wamid=wamid, recipient_id=recipient_id, status=status))
