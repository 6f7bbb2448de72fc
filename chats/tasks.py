"""Celery tasks: thin wrappers that load ids and call a service.

Services never import this module: they enqueue by task name (chats/jobs.py). The names
are Celery's (module and function), so they stay as they are while broker messages wait.
"""
import logging
import time
from datetime import timedelta

from celery import shared_task
from django.conf import settings

from chats.conversations.announcements import window_announce_due
from chats.delivery import handoff, reactions, receipts, transitions
from chats.delivery.queue import send_retry_scheduled, stale_queued_messages_requeue
from chats.devtools.simulator import play_status
from chats.ingress.queue import webhook_events_drain
from chats.integration import retention, webhooks
from chats.media import fetch as media_fetch
from chats.models import Message
from chats.notifications.notices import notify
from chats.safety.forwarding import safety_digest_send
from chats.whatsapp.errors import Failure

logger = logging.getLogger(__name__)


def _again(task, countdown: float, args: list):
    """Retry after `countdown`; eagerly (embedded default, tests) there is no worker to defer to, so run it now."""
    if task.request.is_eager:
        time.sleep(min(countdown, 5.0))
        return task.apply(args=args, retries=task.request.retries + 1, throw=True).result
    raise task.retry(countdown=countdown)


@shared_task(bind=True, max_retries=None, acks_late=True)
def send_message_task(self, message_id: int):
    """Hand one queued message to WhatsApp; re-queued with backoff while the service asks for it.

    The service bounds HTTP attempts (WHATSAPP_SEND_MAX_ATTEMPTS); deferrals for rate
    limits are bounded here, so a message is never dropped silently.
    """
    try:
        handoff.message_deliver(message_id=message_id)
    except handoff.RetryLater as exc:
        if self.request.retries >= settings.WHATSAPP_SEND_MAX_DEFERRALS:
            message = Message.objects.get(pk=message_id)
            transitions.message_fail(message=message, failure=Failure(
                "retries_exhausted", f"still could not send after {self.request.retries} retries: {exc.reason}"))
            return None
        if not self.request.is_eager:
            send_retry_scheduled(message_id=message_id, countdown=exc.countdown)
        return _again(self, exc.countdown, [message_id])


@shared_task(bind=True, max_retries=None)
def read_status_task(self, message_id: int, typing_indicator: bool = False):
    """Mark one HCP message read at Meta (with the typing indicator, when asked); again while the service asks."""
    countdown = receipts.read_status_deliver(message_id=message_id, typing_indicator=typing_indicator,
                                             attempt=self.request.retries + 1)
    if countdown is not None:
        return _again(self, countdown, [message_id, typing_indicator])
    return None


@shared_task(bind=True, max_retries=None, acks_late=True)
def send_reaction_task(self, reaction_id: int, emoji: str):
    """Send a rep's reaction to WhatsApp; re-queued with backoff while the service asks for it."""
    try:
        reactions.reaction_deliver(reaction_id=reaction_id, emoji=emoji, attempt=self.request.retries + 1)
    except handoff.RetryLater as exc:
        if self.request.retries >= settings.WHATSAPP_SEND_MAX_DEFERRALS:
            reactions.reaction_fail(reaction_id=reaction_id, emoji=emoji,
                                    reason=f"still could not send after {self.request.retries} retries: {exc.reason}")
            return None
        return _again(self, exc.countdown, [reaction_id, emoji])


EAGER_MEDIA_RETRIES = 5  # in process there is no worker to defer to: a few quick tries, then it waits


@shared_task(bind=True, max_retries=None, acks_late=True)
def fetch_inbound_media_task(self, message_ids: list[int]):
    """Fetch the files of these inbound media messages; those that may still succeed are re-queued
    together with the shortest backoff any of them asked for (chats/media/fetch.py)."""
    again: dict[int, float] = {}
    for message_id in message_ids:
        try:
            media_fetch.inbound_media_fetch(message_id=message_id)
        except media_fetch.RetryLater as exc:
            again[message_id] = exc.countdown
    if not again or (self.request.is_eager and self.request.retries >= EAGER_MEDIA_RETRIES):
        return None
    return _again(self, min(again.values()), [list(again)])


@shared_task
def drain_webhook_events_task(slot: int = 0, holds_slot: bool = False):
    """Process the stored webhook bodies that are due (chats/ingress/queue.py); the beat runs it every 30 s."""
    return webhook_events_drain(slot=slot, holds_slot=holds_slot)


@shared_task
def sandbox_status_task(phone_number_id: str, wamid: str, recipient_id: str, status: str):
    """Play one Meta status webhook for a sandbox send, through the real inbound path."""
    play_status(phone_number_id=phone_number_id, wamid=wamid, recipient_id=recipient_id, status=status)


@shared_task
def announce_windows_task():
    """Every minute (beat): publish the 12-hour warnings and the expiries that fell due."""
    return window_announce_due()


@shared_task
def requeue_lost_media_fetches_task():
    """Every 5 minutes (beat): fetch again the HCP files whose fetch task was lost."""
    return media_fetch.inbound_media_requeue_lost()


@shared_task
def requeue_stale_sends_task():
    """Every minute (beat): enqueue again the queued sends whose task was lost (killed worker, lost broker)."""
    return stale_queued_messages_requeue(older_than=timedelta(seconds=settings.WHATSAPP_STALE_SEND_SECONDS))


@shared_task
def webhook_fan_out_task():
    """After commits that wrote changes, and every 15 s (beat): integrations' webhook deliveries made and started."""
    return webhooks.webhooks_fan_out()


@shared_task(bind=True, max_retries=None, acks_late=True)
def deliver_webhook_task(self, delivery_id: int):
    """Post one webhook delivery (and the next of its thread while they succeed); again after a backoff.
    Eagerly there is no worker to come back: the next fan-out starts what is due."""
    outcome, wait = webhooks.webhook_deliver_in_order(delivery_id=delivery_id)
    if wait is not None and not self.request.is_eager:
        raise self.retry(countdown=wait)
    return outcome


@shared_task
def prune_integration_log_task():
    """Every hour (beat): the change feed and the webhook delivery log past INTEGRATION_CHANGE_RETENTION_DAYS."""
    return retention.integration_log_prune()


@shared_task
def safety_digest_task():
    """Once a day (beat): mail drug safety the possible adverse events that are past their deadline."""
    return safety_digest_send()


@shared_task
def push_notify_task(kind: str, ids: list[int]):
    """After the commit that made them: Web Push notifications to reps' devices (chats/notifications/)."""
    return notify(kind=kind, ids=ids)
