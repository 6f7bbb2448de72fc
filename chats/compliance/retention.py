"""Retention: message bodies older than MESSAGE_BODY_RETENTION_DAYS are redacted; the rows stay.

What goes: the body (replaced by "[redacted after N days]"), template
variables (emptied), media metadata (emptied except ids: keys `id` or ending
in `_id`), an HCP's stored file (deleted from the `inbound_media` storage once the
batch commits; the message's file then reads `failed`, "removed after N days"),
and the raw bodies of processed webhooks, which hold the same text.
What stays: the message row, its direction, kind, template, wamid, sender,
statuses and their timestamps, and every AuditEvent and ConsentEvent row
(append-only; their details never hold message text).

Work goes in batches of primary keys, each a conditional UPDATE that skips
rows already redacted, so a run can be interrupted and repeated: a second run
changes nothing.
"""
import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Case, JSONField, Value, When
from django.utils import timezone

from chats.compliance.audit import audit
from chats.media.storage import inbound_media_storage
from chats.models import AuditEvent, Message, WebhookEvent

logger = logging.getLogger(__name__)

REDACTED_PREFIX = "[redacted after "
REDACTED_WEBHOOK_BODY = b'{"redacted": true}'


def redacted_body(days: int) -> str:
    return f"{REDACTED_PREFIX}{days} days]"


def redacted_media(media: dict, *, days: int) -> dict:
    """Keep only identifiers (e.g. Meta's media `id`, `media_item_id`), drop captions, names, URLs; an
    HCP's file (it has a fetch `status`) says it was removed."""
    kept = {k: v for k, v in (media or {}).items() if k == "id" or k.endswith("_id")}
    if (media or {}).get("status"):
        kept |= {"status": "failed", "failure_code": "retention", "failure": f"removed after {days} days"}
    return kept


def _redact_batch(*, pks: list[int], cutoff: datetime.datetime, body: str, days: int) -> int:
    media_by_pk = dict(Message.objects.filter(pk__in=pks).values_list("pk", "media"))
    files = [media["stored_name"] for media in media_by_pk.values() if (media or {}).get("stored_name")]
    if files:  # after commit: a rolled-back batch keeps its files
        transaction.on_commit(lambda: _delete_files(files))
    new_media = Case(
        *[When(pk=pk, then=Value(redacted_media(media, days=days), output_field=JSONField()))
          for pk, media in media_by_pk.items()],
        default=Value({}, output_field=JSONField()), output_field=JSONField(),
    )
    # The conditions repeat the selection: a row redacted (or re-dated) meanwhile is left alone.
    return (Message.objects.filter(pk__in=pks, created_at__lt=cutoff).exclude(body__startswith=REDACTED_PREFIX)
            .update(body=body, template_variables={}, media=new_media))


def _delete_files(names: list[str]) -> None:
    storage = inbound_media_storage()
    for name in names:
        try:
            storage.delete(name)
        except OSError:  # gone already, or the storage refused: the next run does not retry, so say so
            logger.warning("Retention: could not delete stored HCP file %s", name, exc_info=True)


def redact_expired_bodies(*, now: datetime.datetime | None = None, days: int | None = None,
                          batch_size: int = 1000) -> dict:
    """Redact every message body older than `days` (default MESSAGE_BODY_RETENTION_DAYS; 0 keeps all).

    Returns {"redacted": n, "webhooks_redacted": n, "cutoff": iso or None}; one audit row per run
    that redacted something.
    """
    days = settings.MESSAGE_BODY_RETENTION_DAYS if days is None else days
    if days <= 0:
        logger.info("Retention: MESSAGE_BODY_RETENTION_DAYS is 0, message bodies are kept for ever.")
        return {"redacted": 0, "webhooks_redacted": 0, "cutoff": None}
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=days)
    body = redacted_body(days)
    pending = Message.objects.filter(created_at__lt=cutoff).exclude(body__startswith=REDACTED_PREFIX)
    redacted = 0
    while pks := list(pending.order_by("pk").values_list("pk", flat=True)[:batch_size]):
        with transaction.atomic():  # one short transaction per batch: no long lock on the table
            redacted += _redact_batch(pks=pks, cutoff=cutoff, body=body, days=days)
    webhooks = (WebhookEvent.objects.filter(received_at__lt=cutoff, processed_at__isnull=False)
                .exclude(body=REDACTED_WEBHOOK_BODY).update(body=REDACTED_WEBHOOK_BODY))
    if redacted or webhooks:
        audit(kind=AuditEvent.Kind.RETENTION_REDACTED, redacted=redacted, webhooks_redacted=webhooks,
              cutoff=cutoff.isoformat(), retention_days=days)
    logger.info("Retention: redacted %d message bodies and %d webhook bodies older than %s (%d days).",
                redacted, webhooks, cutoff.isoformat(), days)
    return {"redacted": redacted, "webhooks_redacted": webhooks, "cutoff": cutoff.isoformat()}
