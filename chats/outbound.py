"""Outbound WhatsApp: handing queued messages to the backend, and their statuses.

Statuses only move forward (queued < sent < delivered < read; failed only from
queued or sent). Every change is one conditional UPDATE filtered on the
statuses it may leave, so copies and reorderings of webhooks, and a webhook
racing the send task, cannot move a message backwards.
"""
from __future__ import annotations

import logging
import random
import re
import time
from datetime import timedelta

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from chats.audit import audit
from chats.events import publish_on_commit
from chats.payloads import message_status_payload
from chats.models import AuditEvent, Message
from chats.whatsapp import client, errors, ratelimit
from chats.whatsapp.backends import get_backend
from chats.whatsapp.payloads import MetaError, StatusUpdate
from templates_app.rendering import render_template

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
HANDOFF_MARGIN_SECONDS = 5.0  # beyond the rate wait and the HTTP timeout, before a hand-off is deemed dead


class RetryLater(Exception):
    """The send should be tried again after `countdown` seconds (the task re-queues it)."""

    def __init__(self, countdown: float, reason: str):
        super().__init__(reason)
        self.countdown = countdown
        self.reason = reason


def message_queue_outbound(*, message: Message) -> None:
    """Hand `message` (already saved as queued) to the send task once the transaction commits."""
    from chats.tasks import send_message_task

    # send_task_due_at stays empty: the sweep reads an empty one as "due when created" (no extra query).
    # robust: the message is committed as queued; if the broker cannot take the task (Redis down or
    # restarting) the failure is logged, the rep still gets their answer, and the sweep sends it.
    transaction.on_commit(lambda: send_message_task.delay(message.pk), robust=True)


def send_retry_scheduled(*, message_id: int, countdown: float) -> None:
    """Record when the re-queued send task is due, so the stale-send sweep leaves it alone until then."""
    due = timezone.now() + timedelta(seconds=countdown)
    Message.objects.filter(pk=message_id, status=Status.QUEUED).update(send_task_due_at=due)


def stale_queued_messages_requeue(*, older_than: timedelta, now=None) -> int:
    """Enqueue again every queued send whose task is overdue by `older_than` (its task was lost).

    A worker killed mid-task leaves its broker message unacknowledged until the Redis
    visibility timeout (an hour by default) and a message lost with the broker never
    comes back; this sweep covers both. Each message is claimed by a conditional UPDATE
    of `send_task_due_at`, so overlapping sweeps enqueue it once. A message with a
    wamid is Meta's already and is never enqueued again.
    """
    from chats.tasks import send_message_task

    now = now or timezone.now()
    cutoff = now - older_than
    overdue = (Q(send_task_due_at__lt=cutoff) | Q(send_task_due_at__isnull=True, created_at__lt=cutoff))
    base = Message.objects.filter(direction=Message.Direction.OUTBOUND, status=Status.QUEUED, wamid__isnull=True)
    requeued = 0
    for pk in base.filter(overdue).values_list("pk", flat=True)[:1000]:
        with transaction.atomic():
            if base.filter(overdue, pk=pk).update(send_task_due_at=now):
                logger.warning("queued message %s had no send task running; enqueued again", pk)
                # robust: a broker that refuses one leaves it for the next sweep, and the others still go
                transaction.on_commit(lambda pk=pk: send_message_task.delay(pk), robust=True)
                requeued += 1
    return requeued


def message_deliver(*, message_id: int) -> None:
    """Send one queued message through the backend and record the outcome.

    Raises RetryLater for rate limits and transient errors while attempts remain.
    """
    message = Message.objects.select_related(
        "account", "phone_number__waba", "template", "reply_to", "sender", "thread"
    ).annotate(hcp_opted_in=_opted_in()).get(pk=message_id)
    if message.status != Status.QUEUED or message.wamid:
        return  # already handed to Meta, or settled: never send twice
    if message.handoff_started_at is not None:
        _interrupted_handoff(message)  # a run of this task died (or is still) mid-call: never send twice
        return
    if not message.hcp_opted_in:
        message_fail(message=message, failure=errors.Failure(
            "opted_out", "the HCP is not opted in any more; the message was not sent"))
        return
    number_id = message.phone_number.phone_number_id
    pair = ratelimit.pair_key(number_id, message.account.wa_id)
    try:
        cooling = ratelimit.get_limiter().cooldown_remaining(pair)
    except ratelimit.LimiterUnavailable as exc:
        raise RetryLater(exc.wait, exc.reason) from exc
    if cooling > 0:
        if cooling > settings.WHATSAPP_RATE_MAX_WAIT_SECONDS:
            raise RetryLater(cooling, "pair rate cool-down with this HCP")
        time.sleep(cooling)
    attempt = message.send_attempts + 1
    backend = get_backend()
    if not _claim_handoff(message):
        return  # another run of this task claimed it between our read and now
    try:
        outcome = backend.send(
            phone_number_id=number_id, access_token=message.phone_number.waba.effective_access_token,
            payload=payload_for(message),
        )
    except (ratelimit.RateLimited, client.GraphUnreachable, client.GraphOutcomeUnknown, client.GraphError) as exc:
        outcome = exc
    _on_live_session(lambda: _handoff_outcome_record(message, attempt, pair, backend, outcome))


def _handoff_outcome_record(message: Message, attempt: int, pair: str, backend, outcome) -> None:
    """Record what became of a claimed hand-off: Meta's answer, or the error that stopped it."""
    if isinstance(outcome, ratelimit.RateLimited):  # the request never left: our own limiter, or Redis out of reach
        _release_handoff(message)
        raise RetryLater(outcome.wait, outcome.reason) from outcome
    elif isinstance(outcome, client.GraphUnreachable):
        _release_handoff(message)  # the connection never opened: Meta has nothing
        _retry_or_fail(message, attempt, errors.Failure("unreachable", f"could not reach Meta: {outcome}"))
    elif isinstance(outcome, client.GraphOutcomeUnknown):
        # The request may have reached Meta: sending again could give the HCP the message twice.
        _count_attempt(message)
        message_fail(message=message, failure=errors.Failure(
            TIMEOUT_UNKNOWN,
            "Meta did not answer in time; the message may or may not have arrived, so it was not sent again "
            f"({outcome})",
        ))
    elif isinstance(outcome, client.GraphError):
        _release_handoff(message)  # Meta answered with an error: it did not take the message
        _on_graph_error(message, attempt, outcome, pair)
    else:
        _record_sent(message, outcome, backend)


SESSION_TRIES = 4


def _on_live_session(write):
    """Run `write`; if the database session drops under it, again on a new one (0.5, 1, 2 s apart).

    For Meta's answer to a hand-off, which only this process knows: the session sat idle
    through the HTTP call and may have been closed meanwhile (PostgreSQL restarted,
    pg_terminate_backend, an idle timeout). Giving up would leave the message claimed, to end
    `timeout_unknown` although Meta answered. A try that failed wrote nothing, unless the
    session died during its very COMMIT (see docs/whatsapp.md, "Faults", for that limit).
    """
    for tries in range(1, SESSION_TRIES + 1):
        try:
            return write()
        except (InterfaceError, OperationalError):
            if tries == SESSION_TRIES or connection.in_atomic_block:
                raise
            logger.warning("database session lost while recording a Graph call's outcome; trying on a new one")
            connection.close()  # the next query opens a new session
            time.sleep(0.5 * 2 ** (tries - 1))


def _handoff_deadline_seconds() -> float:
    return settings.WHATSAPP_RATE_MAX_WAIT_SECONDS + settings.WHATSAPP_TIMEOUT_SECONDS + HANDOFF_MARGIN_SECONDS


def _claim_handoff(message: Message) -> bool:
    """Mark the message as being handed to Meta, committed before the HTTP call leaves.

    Whoever finds this mark on a queued message without a wamid knows a hand-off began
    and never finished: it may have reached Meta, so it is not sent again (see
    _interrupted_handoff).
    """
    now = timezone.now()
    claimed = Message.objects.filter(
        pk=message.pk, status=Status.QUEUED, wamid__isnull=True, handoff_started_at__isnull=True
    ).update(handoff_started_at=now)
    if claimed:
        message.handoff_started_at = now
        return True
    _reload_columns(message)
    if message.status == Status.QUEUED and not message.wamid:
        _interrupted_handoff(message)
    return False


# A message's own columns (status, stamps, wamid, failure...), not its relations.
OWN_COLUMNS = [f.attname for f in Message._meta.concrete_fields if not f.is_relation]


def _reload_columns(message: Message) -> None:
    """Read the message's columns again, keeping the relations loaded with it (a bare
    refresh_from_db drops them, and the audit row and event would load each one again)."""
    message.refresh_from_db(fields=OWN_COLUMNS)


def _release_handoff(message: Message) -> None:
    Message.objects.filter(pk=message.pk, wamid__isnull=True).update(handoff_started_at=None)
    message.handoff_started_at = None


def _interrupted_handoff(message: Message) -> None:
    """A hand-off began and left no outcome: still running elsewhere, or its worker died mid-call."""
    age = (timezone.now() - message.handoff_started_at).total_seconds()
    deadline = _handoff_deadline_seconds()
    if age < deadline:
        raise RetryLater(deadline - age + 0.5, "another worker is handing this message to Meta")
    message_fail(message=message, failure=errors.Failure(
        TIMEOUT_UNKNOWN,
        "the worker stopped while handing this message to Meta; it may or may not have arrived, "
        "so it was not sent again",
    ))


def _on_graph_error(message: Message, attempt: int, exc: client.GraphError, pair: str) -> None:
    failure = errors.failure_from_meta(exc.code, exc.title, exc.details)
    if exc.code == errors.PAIR_RATE_LIMITED:
        ratelimit.get_limiter().set_cooldown(pair, settings.WHATSAPP_PAIR_BACKOFF_SECONDS * 2 ** (attempt - 1))
        _retry_or_fail(message, attempt, failure, base=settings.WHATSAPP_PAIR_BACKOFF_SECONDS)
    elif exc.code in errors.RETRYABLE_CODES or exc.http_status >= 500:
        _retry_or_fail(message, attempt, failure)
    else:
        _count_attempt(message)
        message_fail(message=message, failure=failure)


def _retry_or_fail(message: Message, attempt: int, failure: errors.Failure, base: float | None = None) -> None:
    """Exponential backoff with jitter, bounded by WHATSAPP_SEND_MAX_ATTEMPTS."""
    _count_attempt(message)
    if attempt >= settings.WHATSAPP_SEND_MAX_ATTEMPTS:
        failure.failure_reason = f"{failure.failure_reason} (gave up after {attempt} attempts)"
        message_fail(message=message, failure=failure)
        return
    base = settings.WHATSAPP_RETRY_BASE_SECONDS if base is None else base
    countdown = base * 2 ** (attempt - 1)
    raise RetryLater(countdown + random.uniform(0, base / 2), failure.failure_reason)


def _count_attempt(message: Message) -> None:
    Message.objects.filter(pk=message.pk).update(send_attempts=F("send_attempts") + 1)


def _record_sent(message: Message, result, backend) -> None:
    now = timezone.now()
    with transaction.atomic():
        Message.objects.filter(pk=message.pk).update(send_attempts=F("send_attempts") + 1)
        # A status webhook carrying our callback data may already have stored the wamid.
        Message.objects.filter(pk=message.pk, wamid__isnull=True).update(wamid=result.wamid)
        moved = Message.objects.filter(pk=message.pk, status=Status.QUEUED).update(status=Status.SENT, sent_at=now)
        _reload_columns(message)
        audit(kind=AuditEvent.Kind.MESSAGE_STATUS, actor=message.sender, thread=message.thread, message=message,
              status="sent", wamid=result.wamid, via=backend.name)
        if moved and message.thread_id:
            publish_on_commit(message.thread.user_id, "message.status", message_status_payload(message))
        backend.message_stored(result=result)


def message_fail(*, message: Message, failure: errors.Failure) -> bool:
    """Mark a queued or sent message failed with Rapport's code, a human reason and Meta's words."""
    with transaction.atomic():
        moved = Message.objects.filter(pk=message.pk, status__in=MAY_LEAVE["failed"]).update(
            status=Status.FAILED, failed_at=timezone.now(), **_failure_fields(failure)
        )
        if moved:
            _reload_columns(message)
            audit(kind=AuditEvent.Kind.MESSAGE_FAILED, actor=message.sender, thread=message.thread,
                  message=message, failure_code=failure.failure_code, error_code=failure.error_code,
                  reason=failure.failure_reason)
            if message.thread_id:
                publish_on_commit(message.thread.user_id, "message.status", message_status_payload(message))
    return bool(moved)


def _failure_fields(failure: errors.Failure) -> dict:
    return {
        "failure_code": failure.failure_code,
        "failure_reason": failure.failure_reason,
        "error_code": failure.error_code,
        "error_title": failure.error_title,
        "error_details": failure.error_details,
    }


def _opted_in() -> Exists:
    """Whether the message's HCP is opted in now, read with the message itself."""
    from consent.models import ConsentRecord, ConsentStatus

    return Exists(ConsentRecord.objects.filter(account_id=OuterRef("account_id"), status=ConsentStatus.OPTED_IN))


# --- request bodies ---------------------------------------------------------------------------

def payload_for(message: Message) -> dict:
    """The Cloud API body for a queued message (text, Meta template, Text Only template, media link)."""
    common = {
        "to": message.account.wa_id,
        "reply_to_wamid": (message.reply_to.wamid or "") if message.reply_to_id else "",
        "callback_data": f"rapport:message:{message.pk}",
    }
    template = message.template
    if message.kind == Message.Kind.TEMPLATE and template is not None and template.kind == template.Kind.META:
        values = template_values(message)
        return client.template_payload(
            name=template.name, language=template.language,
            parameters=[(p, values.get(p, "")) for p in template.placeholders], **common,
        )
    return client.text_payload(body=message.body, **common)


def template_values(message: Message) -> dict[str, str]:
    """Each placeholder's value: what the send stored, else rendered now from the template's bindings."""
    values = {str(k): str(v) for k, v in (message.template_variables or {}).items()}
    if all(p in values for p in message.template.placeholders):
        return values
    media = message.media or {}
    extra = {f"media.{key}": media[key] for key in ("title", "url") if key in media}
    _, rendered = render_template(template=message.template, account=message.account, user=message.sender,
                                  phone_number=message.phone_number, extra=extra)
    return {**rendered, **values}


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
        if status == "failed":
            meta = update.errors[0] if update.errors else MetaError(None)
            failure = errors.failure_from_meta(meta.code, meta.title, meta.details)
            changes = {"status": status, "failed_at": at, **_failure_fields(failure)}
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


def _link_by_callback(update: StatusUpdate) -> bool:
    """Attach a wamid we never stored (send answer lost, or webhook first) via our callback data."""
    match = CALLBACK_RE.match(update.callback_data or "")
    if not match:
        return False
    return bool(
        Message.objects.filter(pk=int(match.group(1)), direction=Message.Direction.OUTBOUND, wamid__isnull=True)
        .update(wamid=update.wamid)
    )
