"""Fetching the file of an HCP's media message: Meta's media id in, Rapport's stored file out.

The one owner of an inbound media message's `media.status` (pending → ready, or failed with a
reason). For each message: ask Meta for the media (`GET /{version}/{media-id}`, the number's token),
download its short-lived `url` with the same token, never taking more than WHATSAPP_MEDIA_MAX_BYTES,
check the SHA-256 Meta gave, store the file through the `inbound_media` storage (chats/media/storage.py).
Transient trouble is retried with exponential backoff while Meta keeps the media (about 7 days after
the message's WhatsApp timestamp); what cannot get better fails at once with a reason.

Once per message whatever the number of runs: a run claims the message for a lease (committed before
any HTTP call), and a settled message is never fetched again, so a replayed webhook or a second task
run neither downloads nor stores twice.
"""
from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import logging
import mimetypes
import random
import tempfile

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from chats import jobs
from chats.compliance.audit import audit
from chats.media.storage import inbound_media_storage
from chats.models import AuditEvent, Message
from chats.realtime.events import publish_on_commit
from chats.realtime.payloads import message_payload
from chats.whatsapp import client
from chats.whatsapp.backends import get_backend

logger = logging.getLogger(__name__)

PENDING, READY, FAILED = "pending", "ready", "failed"
FETCH_LEASE_SECONDS = 600  # a run that took longer than this is taken for dead and the fetch starts again
SPOOL_BYTES = 1024 * 1024  # a download above this goes to a temporary file, not memory


class RetryLater(Exception):
    """Fetch this message again after `countdown` seconds (the task re-queues it)."""

    def __init__(self, countdown: float, reason: str):
        super().__init__(reason)
        self.countdown = countdown
        self.reason = reason


class _Failed(Exception):
    """The fetch cannot succeed (too large, wrong hash, gone at Meta ...): `reason` says why."""

    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


class _Transient(Exception):
    pass


def inbound_media_fetch_enqueue(*, message_ids: list[int]) -> None:
    """After commit, one task fetches the files of these messages (one webhook's batch)."""
    if message_ids:
        ids = list(message_ids)
        transaction.on_commit(lambda: jobs.enqueue(jobs.FETCH_INBOUND_MEDIA, ids))


def inbound_media_fetch(*, message_id: int) -> str | None:
    """Fetch, check and store one message's file; returns its media status (None when there is nothing
    to do: not inbound media, or settled already). Raises RetryLater while it may still succeed."""
    message = _claim(message_id)
    if message is None:
        return None
    media = message.media
    try:
        stored = _download_and_store(message, media)
    except _Failed as failed:
        return _settle(message_id, {"status": FAILED, "failure_code": failed.code, "failure": failed.reason})
    except _Transient as trouble:
        return _retry_or_fail(message_id, str(trouble))
    return _settle(message_id, {"status": READY, **stored}, stored_name=stored["stored_name"])


def inbound_media_requeue_lost(*, now: datetime.datetime | None = None, limit: int = 500) -> int:
    """Enqueue again the files still pending whose fetch task was lost (a killed worker, a lost queue
    message): neither leased by a live run nor waiting for a retry due in the future, for longer than a
    lease. Returns how many were enqueued; the fetch itself decides again (and fails those Meta let go)."""
    now = now or timezone.now()
    grace = datetime.timedelta(seconds=FETCH_LEASE_SECONDS)
    pending = (Message.objects.filter(kind=Message.Kind.INBOUND_MEDIA, media__status=PENDING,
                                      created_at__lt=now - grace)
               .order_by("created_at").values_list("id", "media")[:limit])
    lost = [message_id for message_id, media in pending
            if all(at is None or at < now - grace for at in (parse_datetime(str(media.get(key) or ""))
                                                             for key in ("fetch_started_at", "retry_at")))]
    inbound_media_fetch_enqueue(message_ids=lost)
    return len(lost)


def media_keeps_until(message: Message) -> datetime.datetime:
    """Until when Meta keeps a webhook's media: WHATSAPP_MEDIA_RETENTION_HOURS after the message was written."""
    return message.written_at + datetime.timedelta(hours=settings.WHATSAPP_MEDIA_RETENTION_HOURS)


# --- steps ------------------------------------------------------------------------------------

def _claim(message_id: int) -> Message | None:
    """The message, claimed for this run (committed), if its file is still to fetch."""
    now = timezone.now()
    with transaction.atomic():
        message = (Message.objects.select_for_update(of=("self",)).select_related("phone_number__waba")
                   .filter(pk=message_id, kind=Message.Kind.INBOUND_MEDIA).first())
        media = dict(message.media or {}) if message is not None else {}
        if media.get("status") != PENDING:
            return None
        started = parse_datetime(str(media.get("fetch_started_at") or ""))
        if started is not None and (now - started).total_seconds() < FETCH_LEASE_SECONDS:
            left = FETCH_LEASE_SECONDS - (now - started).total_seconds()
            raise RetryLater(left + 1, "another worker is fetching this file")
        media["fetch_started_at"] = now.isoformat()
        message.media = media
        message.save(update_fields=["media"])
    return message


def _access_token(message: Message) -> str:
    number = message.phone_number
    return number.waba.effective_access_token if number is not None else settings.WHATSAPP_ACCESS_TOKEN


def _download_and_store(message: Message, media: dict) -> dict:
    backend, token, cap = get_backend(), _access_token(message), settings.WHATSAPP_MEDIA_MAX_BYTES
    try:
        info = backend.media_info(media_id=str(media["id"]), access_token=token)
    except client.GraphError as exc:
        if _gone(exc):
            raise _Failed("media_gone", f"Meta has no such media any more ({exc.http_status}: {exc.title})") from exc
        raise _Transient(f"Meta answered {exc.http_status}: {exc.title}") from exc
    except (client.GraphUnreachable, client.GraphOutcomeUnknown) as exc:
        raise _Transient(f"could not reach Meta: {exc}") from exc
    if not isinstance(info.get("url"), str) or not info["url"]:
        raise _Transient("Meta's answer had no download url")
    declared = info.get("file_size")
    if isinstance(declared, int) and declared > cap:
        raise _Failed("too_large", f"the file is {declared} bytes; Rapport keeps files up to {cap} bytes")
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        hashing = _HashingWriter(spool)
        try:
            size = backend.media_download(url=info["url"], access_token=token, into=hashing, max_bytes=cap)
        except client.MediaTooLarge as exc:
            raise _Failed("too_large", f"the file is larger than {cap} bytes, the most Rapport keeps") from exc
        except client.GraphError as exc:  # the short-lived url may have expired: a new one next time
            raise _Transient(f"the download answered {exc.http_status}: {exc.title}") from exc
        except (client.GraphUnreachable, client.GraphOutcomeUnknown) as exc:
            raise _Transient(f"the download broke off: {exc}") from exc
        if size == 0:
            raise _Failed("bad_content", "Meta gave an empty file")
        digest = hashing.sha256.digest()
        expected = str(media.get("sha256") or info.get("sha256") or "")
        if expected and not _digest_matches(expected, digest):
            raise _Failed("hash_mismatch", "the file's SHA-256 is not the one Meta gave; it was not kept")
        mime_type = str(media.get("mime_type") or info.get("mime_type") or "application/octet-stream")
        spool.seek(0)
        name = inbound_media_storage().save(_stored_name(message, media, mime_type), File(spool))
    return {"stored_name": name, "size": size, "stored_sha256": digest.hex(), "mime_type": mime_type}


def _retry_or_fail(message_id: int, reason: str) -> str:
    """Back off exponentially (with jitter), or fail once the next try would come after Meta let the media go."""
    now = timezone.now()
    with transaction.atomic():
        message = Message.objects.select_for_update().get(pk=message_id)
        media = dict(message.media)
        attempts = int(media.get("attempts") or 0) + 1
        base, ceiling = settings.WHATSAPP_MEDIA_RETRY_BASE_SECONDS, settings.WHATSAPP_MEDIA_RETRY_MAX_SECONDS
        countdown = min(base * 2 ** (attempts - 1), ceiling) + random.uniform(0, base / 2)
        if now + datetime.timedelta(seconds=countdown) > media_keeps_until(message):
            return _settle(message_id, {"status": FAILED, "failure_code": "expired", "attempts": attempts,
                                        "failure": f"Meta keeps media about {_days()} days, and it could not be "
                                                   f"fetched in that time ({reason})"})
        media.update(attempts=attempts, last_error=reason[:500],
                     retry_at=(now + datetime.timedelta(seconds=countdown)).isoformat())
        media.pop("fetch_started_at", None)
        message.media = media
        message.save(update_fields=["media"])
    raise RetryLater(countdown, reason)


def _settle(message_id: int, changes: dict, stored_name: str = "") -> str:
    """Record the file's outcome once: ready or failed, audited, and told to the thread's rep live."""
    with transaction.atomic():
        message = (Message.objects.select_for_update(of=("self",))
                   .select_related("thread", "reply_to", "template", "sender", "safety_case")
                   .get(pk=message_id))
        media = dict(message.media)
        if media.get("status") != PENDING:  # another run settled it meanwhile: keep its outcome, drop our copy
            if stored_name:
                transaction.on_commit(lambda: inbound_media_storage().delete(stored_name))
            return media.get("status")
        for key in ("fetch_started_at", "retry_at"):
            media.pop(key, None)
        media.update(changes)
        message.media = media
        message.save(update_fields=["media"])
        audit(kind=AuditEvent.Kind.MESSAGE_STATUS, thread=message.thread, message=message,
              media_status=media["status"], media_id=media.get("id", ""),
              **({"size": media["size"], "sha256": media["stored_sha256"]} if media["status"] == READY
                 else {"failure_code": media.get("failure_code", ""), "failure": media.get("failure", "")}))
        if message.thread is not None:
            publish_on_commit(message.thread.user_id, "message.updated", message_payload(message))
    if media["status"] == FAILED:
        logger.warning("inbound media of message %s failed: %s", message_id, media.get("failure"))
    return media["status"]


# --- helpers ----------------------------------------------------------------------------------

class _HashingWriter:
    """Writes through to a file while hashing what passes."""

    def __init__(self, target):
        self.target = target
        self.sha256 = hashlib.sha256()

    def write(self, chunk: bytes) -> int:
        self.sha256.update(chunk)
        return self.target.write(chunk)


def _gone(exc: client.GraphError) -> bool:
    """Meta's 4xx for the media id means it is not there (expired, deleted, never was); 401/403 and 429 may pass."""
    return 400 <= exc.http_status < 500 and exc.http_status not in (401, 403, 408, 429) and exc.code not in (190, 4, 80007)


def _digest_matches(expected: str, digest: bytes) -> bool:
    """Meta writes a file's SHA-256 in base64 in webhooks and in hex elsewhere: either matches."""
    expected = expected.strip()
    if expected.lower() == digest.hex():
        return True
    try:
        return base64.b64decode(expected + "=" * (-len(expected) % 4), validate=True) == digest
    except (ValueError, binascii.Error):
        return False


def _stored_name(message: Message, media: dict, mime_type: str) -> str:
    """`YYYY/MM/<message id>-<media id><ext>`: no part of it comes from the HCP's file name."""
    extension = mimetypes.guess_extension(mime_type.split(";")[0].strip()) or ""
    at = message.written_at
    return f"{at:%Y/%m}/{message.pk}-{''.join(c for c in str(media.get('id', '')) if c.isalnum())}{extension}"


def _days() -> int:
    return round(settings.WHATSAPP_MEDIA_RETENTION_HOURS / 24)
