"""The one owner of an outbound message's state: every transition is written here.

queued → handed off (a hand-off claimed, committed before the HTTP call) → sent (Meta's
wamid) → delivered → read, or failed. Statuses only move forward (queued < sent <
delivered < read; failed only from queued or sent). Every change is one conditional
UPDATE filtered on the states it may leave, so copies and reorderings of webhooks, a
webhook racing the send task, and an opt-out racing a hand-off cannot move a message
backwards. Sending, the send task, ingress (Meta's statuses) and consent (an opt-out)
ask these functions; none writes a message's status itself.
"""
from __future__ import annotations

import logging
import re

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from chats.compliance.audit import audit
from chats.models import AuditEvent, Message
from chats.realtime.events import publish_on_commit
from chats.realtime.payloads import message_status_payload
from chats.whatsapp import errors
from chats.whatsapp.updates import MetaError, StatusUpdate
from consent.selectors import opted_in_exists

logger = logging.getLogger(__name__)

Status = Message.Status
MAY_LEAVE = {  # target status -> the statuses a message may move to it from
    "sent": ["queued"],
    "delivered": ["queued", "sent"],
    "read": ["queued", "sent", "delivered"],
    "failed": ["queued", "sent"],
}
STAMP_FIELD = {"sent": "sent_at", "delivered": "delivered_at", "read": "read_at", "failed": "failed_at"}
CALLBACK_RE = re.compile(r"^rapport:message:(\d+)$")
TIMEOUT_UNKNOWN = "timeout_unknown"


# A message's own columns (status, stamps, wamid, failure...), not its relations.
OWN_COLUMNS = [f.attname for f in Message._meta.concrete_fields if not f.is_relation]


def reload_columns(message: Message) -> None:
    """Read the message's columns again, keeping the relations loaded with it (a bare
    refresh_from_db drops them, and the audit row and event would load each one again)."""
    message.refresh_from_db(fields=OWN_COLUMNS)


# --- handing off ---------------------------------------------------------------------------------


def handoff_claim(message: Message) -> bool:
    """Mark the message as being handed to Meta, committed before the HTTP call leaves, if its HCP
    is still opted in: one UPDATE, so an opt-out either committed first (nothing is claimed) or
    finds the message claimed and leaves it to its true outcome (`messages_fail_queued`).

    Whoever finds this mark on a queued message without a wamid knows a hand-off began
    and never finished: it may have reached Meta, so it is not sent again (see
    chats/delivery/handoff.py). False when not claimed; the message's columns are read again.
    """
    now = timezone.now()
    claimed = Message.objects.filter(
        opted_in_exists(), pk=message.pk, status=Status.QUEUED, wamid__isnull=True, handoff_started_at__isnull=True,
    ).update(handoff_started_at=now)
    if claimed:
        message.handoff_started_at = now
        return True
    reload_columns(message)
    return False


def handoff_release(message: Message) -> None:
    Message.objects.filter(pk=message.pk, wamid__isnull=True).update(handoff_started_at=None)
    message.handoff_started_at = None


def attempt_count(message: Message) -> None:
    Message.objects.filter(pk=message.pk).update(send_attempts=F("send_attempts") + 1)


def mark_sent(message: Message, result, backend) -> None:
    """Meta took the message: its wamid, `sent`, the audit row and the rep's tick, in one transaction."""
    now = timezone.now()
    with transaction.atomic():
        attempt_count(message)
        # A status webhook carrying our callback data may already have stored the wamid.
        Message.objects.filter(pk=message.pk, wamid__isnull=True).update(wamid=result.wamid)
        moved = Message.objects.filter(pk=message.pk, status=Status.QUEUED).update(status=Status.SENT, sent_at=now)
        reload_columns(message)
        audit(kind=AuditEvent.Kind.MESSAGE_STATUS, actor=message.sender, thread=message.thread, message=message,
              status="sent", wamid=result.wamid, via=backend.name)
        if moved and message.thread_id:
            publish_on_commit(message.thread.user_id, "message.status", message_status_payload(message))
        backend.message_stored(result=result)


# --- failing --------------------------------------------------------------------------------------


def message_fail(*, message: Message, failure: errors.Failure) -> bool:
    """Mark a queued or sent message failed with Rapport's code, a human reason and Meta's words."""
    with transaction.atomic():
        moved = Message.objects.filter(pk=message.pk, status__in=MAY_LEAVE["failed"]).update(
            status=Status.FAILED, failed_at=timezone.now(), **failure_fields(failure)
        )
        if moved:
            reload_columns(message)
            audit(kind=AuditEvent.Kind.MESSAGE_FAILED, actor=message.sender, thread=message.thread,
                  message=message, failure_code=failure.failure_code, error_code=failure.error_code,
                  reason=failure.failure_reason)
            if message.thread_id:
                publish_on_commit(message.thread.user_id, "message.status", message_status_payload(message))
    return bool(moved)


def messages_fail_queued(*, account, now=None) -> int:
    """Fail outbound messages to `account` that no worker has begun to hand to Meta (its HCP opted
    out). One whose hand-off is claimed may already be Meta's: it keeps its true outcome."""
    now = now or timezone.now()
    not_handed_off = {"status": Message.Status.QUEUED, "wamid__isnull": True, "handoff_started_at__isnull": True}
    queued = Message.objects.filter(account=account, direction=Message.Direction.OUTBOUND, **not_handed_off)
    ids = list(queued.values_list("pk", flat=True))
    # Conditional on still not handed off: a worker that claimed one meanwhile keeps it.
    failed = Message.objects.filter(pk__in=ids, **not_handed_off).update(
        status=Message.Status.FAILED, failed_at=now, failure_code="opted_out",
        failure_reason="The HCP opted out before this message was sent.",
    )
    for message in Message.objects.filter(pk__in=ids, failure_code="opted_out").select_related("thread", "sender"):
        audit(kind=AuditEvent.Kind.MESSAGE_FAILED, actor=message.sender, thread=message.thread,
              message=message, failure_code="opted_out", reason=message.failure_reason)
        if message.thread_id:
            publish_on_commit(message.thread.user_id, "message.status", message_status_payload(message))
    return failed


def failure_fields(failure: errors.Failure) -> dict:
    return {
        "failure_code": failure.failure_code,
        "failure_reason": failure.failure_reason,
        "error_code": failure.error_code,
        "error_title": failure.error_title,
        "error_details": failure.error_details,
    }


# --- statuses from Meta -----------------------------------------------------------------------

def status_apply(*, update: StatusUpdate) -> bool:
    """Move one outbound message forward to Meta's reported status; False when nothing moved."""
    status = "read" if update.status == "played" else update.status  # voice notes are "played", i.e. read
    if status not in MAY_LEAVE:
        logger.info("status %r for %s ignored", update.status, update.wamid)
        return False
    at = update.timestamp or timezone.now()
    with transaction.atomic():
        messages = Message.objects.filter(wamid=update.wamid, direction=Message.Direction.OUTBOUND)
        if not messages.exists() and not _link_by_callback(update):
            # Kept in its WebhookEvent; nothing here to move.
            logger.warning("status %s for unknown wamid %s kept unapplied", status, update.wamid)
            return False
        if pricing := _pricing_of(update):
            # Meta prices a message on its sent or delivered status, whatever order they arrive in.
            messages.update(pricing=pricing)
        if status == "failed":
            meta = update.errors[0] if update.errors else MetaError(None)
            failure = errors.failure_from_meta(meta.code, meta.title, meta.details)
            changes = {"status": status, "failed_at": at, **failure_fields(failure)}
        else:
            # Each stage keeps its own time even when it arrives after a later stage.
            messages.filter(**{f"{STAMP_FIELD[status]}__isnull": True}).update(**{STAMP_FIELD[status]: at})
            changes = {"status": status}
        # A send whose answer timed out is "failed: timeout_unknown" until Meta tells us what became of it.
        allowed = Q(status__in=MAY_LEAVE[status]) | Q(status=Status.FAILED, failure_code=TIMEOUT_UNKNOWN)
        if status != "failed":
            changes |= {"failure_code": "", "failure_reason": "", "failed_at": None}
        moved = messages.filter(allowed).update(**changes)
        if not moved:
            return False
        message = messages.select_related("thread").get()
        audit(kind=AuditEvent.Kind.MESSAGE_FAILED if status == "failed" else AuditEvent.Kind.MESSAGE_STATUS,
              thread=message.thread, message=message, status=status, wamid=update.wamid,
              error_code=message.error_code)
        if message.thread_id:
            publish_on_commit(message.thread.user_id, "message.status", message_status_payload(message))
        return True


PRICING_KEYS = ("category", "type", "pricing_model", "billable")


def _pricing_of(update: StatusUpdate) -> dict:
    """The pricing a status carries, Meta's known keys only (values as Meta sent them)."""
    pricing = update.pricing if isinstance(update.pricing, dict) else {}
    return {key: pricing[key] for key in PRICING_KEYS if key in pricing}


def _link_by_callback(update: StatusUpdate) -> bool:
    """Attach a wamid we never stored (send answer lost, or webhook first) via our callback data."""
    match = CALLBACK_RE.match(update.callback_data or "")
    if not match:
        return False
    return bool(
        Message.objects.filter(pk=int(match.group(1)), direction=Message.Direction.OUTBOUND, wamid__isnull=True)
        .update(wamid=update.wamid)
    )
