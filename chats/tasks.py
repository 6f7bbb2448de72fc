"""Celery tasks: thin wrappers that load ids and call a service."""
import logging
import time

from celery import shared_task
from django.conf import settings

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
    from chats import outbound
    from chats.models import Message
    from chats.whatsapp.errors import Failure

    try:
        outbound.message_deliver(message_id=message_id)
    except outbound.RetryLater as exc:
        if self.request.retries >= settings.WHATSAPP_SEND_MAX_DEFERRALS:
            message = Message.objects.get(pk=message_id)
            outbound.message_fail(message=message, failure=Failure(
                "retries_exhausted", f"still could not send after {self.request.retries} retries: {exc.reason}"))
            return None
        if not self.request.is_eager:
            outbound.send_retry_scheduled(message_id=message_id, countdown=exc.countdown)
        return _again(self, exc.countdown, [message_id])


@shared_task
def drain_webhook_events_task(slot: int = 0, holds_slot: bool = False):
    """Process the stored webhook bodies that are due (chats/webhook_queue.py); the beat runs it every 30 s."""
    from chats.webhook_queue import webhook_events_drain

    return webhook_events_drain(slot=slot, holds_slot=holds_slot)


@shared_task
def sandbox_status_task(phone_number_id: str, wamid: str, recipient_id: str, status: str):
    """Play one Meta status webhook for a sandbox send, through the real inbound path."""
    from chats.whatsapp.simulator import play_status

    play_status(phone_number_id=phone_number_id, wamid=wamid, recipient_id=recipient_id, status=status)


@shared_task
def announce_windows_task():
    """Every minute (beat): publish the 12-hour warnings and the expiries that fell due."""
    from chats.windows import window_announce_due

    return window_announce_due()


@shared_task
def requeue_stale_sends_task():
    """Every minute (beat): enqueue again the queued sends whose task was lost (killed worker, lost broker)."""
    from datetime import timedelta

    from chats.outbound import stale_queued_messages_requeue

    return stale_queued_messages_requeue(older_than=timedelta(seconds=settings.WHATSAPP_STALE_SEND_SECONDS))
