"""An outbound message's way in: created queued (the one way a message to an HCP is made),
handed to the send task after commit, and enqueued again when its task was lost."""
from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from chats import jobs
from chats.models import Message

logger = logging.getLogger(__name__)

Status = Message.Status


def outbound_message_create(*, thread, sender, kind: str, body: str, client_id, template=None,
                            template_variables: dict | None = None, media: dict | None = None,
                            reply_to: Message | None = None) -> Message:
    """A rep's message to the HCP of `thread`, stored as queued; hand it on with
    `message_queue_outbound` once its audit row and events are written."""
    return Message.objects.create(
        thread=thread, account=thread.account, phone_number=thread.phone_number,
        direction=Message.Direction.OUTBOUND, kind=kind, body=body, template=template,
        template_variables=template_variables if template_variables is not None else {},
        media=media if media is not None else {}, sender=sender, client_id=client_id, reply_to=reply_to,
        status=Status.QUEUED,
    )


def message_queue_outbound(*, message: Message) -> None:
    """Hand `message` (already saved as queued) to the send task once the transaction commits."""
    # send_task_due_at stays empty: the sweep reads an empty one as "due when created" (no extra query).
    # robust: the message is committed as queued; if the broker cannot take the task (Redis down or
    # restarting) the failure is logged, the rep still gets their answer, and the sweep sends it.
    transaction.on_commit(lambda: jobs.enqueue(jobs.SEND_MESSAGE, message.pk), robust=True)


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
                transaction.on_commit(lambda pk=pk: jobs.enqueue(jobs.SEND_MESSAGE, pk), robust=True)
                requeued += 1
    return requeued
