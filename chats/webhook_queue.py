"""Stored webhook bodies are the inbound queue; Celery only wakes the drains that empty it.

Why not one Celery task per body: publishing a task cost about 0.8 ms of CPU in the
web process and consuming it about as much in the worker, more than storing the body
itself (docs/performance.md, "Inbound"). Instead:

- `webhook_receive_many` stores a batch of bodies with `available_at` = now and, after its
  commit, calls `drain_request()` once: one `cache.add` (Redis SET NX) on drain slot 0.
  Only when the slot was free is a `drain_webhook_events_task` published, so under load
  almost no batch publishes anything.
- A drain claims due events in batches of BATCH (`SELECT ... FOR UPDATE SKIP LOCKED`, then one
  UPDATE that counts the attempt and leases them for WEBHOOK_LEASE_SECONDS), ingests the
  batch's HCP messages in one transaction (chats/inbound.py `webhook_events_process`), and marks
  the batch processed. A full batch lets it wake the next slot, up to
  WEBHOOK_DRAIN_CONCURRENCY drains in parallel.
- When it finds nothing due it frees its slot, then looks once more: an event stored
  after that look finds the slot free and publishes a new drain, so nothing is missed.
- Safety never rests on the slot: a killed drain's slot expires after
  WEBHOOK_DRAIN_SLOT_SECONDS and its leased events become due again after the lease;
  a drain that leaves events waiting (leased, or failed and backing off) schedules
  itself for when the first falls due, and the `drain-webhook-events` beat entry and
  every worker's start-up request a drain too. Processing is idempotent (one row per
  wamid, statuses only move forward), so a body processed twice changes nothing.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Min, Q
from django.utils import timezone

from chats.models import WebhookEvent

logger = logging.getLogger(__name__)

# Small batches: a batch's live events go out when it commits, so a body waits for the
# others of its batch; and a backlog fills a batch soon enough to wake the next drain.
BATCH = 10
MAX_ATTEMPTS = 5


def _slot_key(slot: int) -> str:
    return f"webhook-drain-slot:{slot}"


def drain_slots_free() -> None:
    """Forget every slot (tests: a drain killed by the previous test must not hold one)."""
    cache.delete_many([_slot_key(slot) for slot in range(settings.WEBHOOK_DRAIN_CONCURRENCY)])


def drain_request(*, slot: int = 0) -> bool:
    """Wake a drain on `slot` unless one holds it already; True when one was woken."""
    from chats.tasks import drain_webhook_events_task

    if not cache.add(_slot_key(slot), 1, settings.WEBHOOK_DRAIN_SLOT_SECONDS):
        return False
    drain_webhook_events_task.delay(slot, True)
    return True


def _due() -> Q:
    return Q(processed_at__isnull=True, attempts__lt=MAX_ATTEMPTS, available_at__lte=timezone.now())


def _claim(*, limit: int) -> list[int]:
    """Lease up to `limit` due events to this drain, oldest first; their attempt is counted now."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(WebhookEvent.objects.select_for_update(skip_locked=True).filter(_due())
                   .order_by("available_at", "id").values_list("id", flat=True)[:limit])
        if ids:
            WebhookEvent.objects.filter(id__in=ids).update(
                attempts=F("attempts") + 1, available_at=now + timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS))
    return ids


def _process(ids: list[int]) -> None:
    from chats.inbound import webhook_events_process

    events = list(WebhookEvent.objects.filter(id__in=ids).order_by("id").only("id", "body", "attempts"))
    try:
        outcomes = webhook_events_process(events=events)
    except Exception as exc:  # the batch backs off and is tried again
        logger.exception("webhook events %s: processing failed", ids)
        for event in events:
            _failed(event=event, error=repr(exc))
        return
    done = []
    for event in events:
        outcome = outcomes[event.pk]
        if outcome.error:
            _failed(event=event, error=outcome.error)
        elif outcome.given_up:
            WebhookEvent.objects.filter(pk=event.pk).update(processed_at=timezone.now(), error=outcome.given_up)
        else:
            done.append(event.pk)
    if done:
        WebhookEvent.objects.filter(id__in=done).update(processed_at=timezone.now(), error="")


def _failed(*, event: WebhookEvent, error: str) -> None:
    """Back off 5, 10, 20, 40 s; after MAX_ATTEMPTS the event stays, unprocessed, for admins."""
    if event.attempts >= MAX_ATTEMPTS:
        logger.error("webhook event %s still failing after %s attempts; left for admins", event.pk, event.attempts)
    retry_at = timezone.now() + timedelta(seconds=5 * 2 ** (event.attempts - 1))
    WebhookEvent.objects.filter(pk=event.pk).update(error=error[:5000], available_at=retry_at)


def webhook_events_drain(*, slot: int = 0, holds_slot: bool = True) -> int:
    """Process due webhook events until none is left; returns how many were claimed.

    `holds_slot` is False for a drain started by the beat, a worker's start-up or a
    delayed wake-up: it takes the slot first, or leaves at once when a drain holds it.
    """
    key, claimed = _slot_key(slot), 0
    if not holds_slot and not cache.add(key, 1, settings.WEBHOOK_DRAIN_SLOT_SECONDS):
        return 0
    try:
        while True:
            ids = _claim(limit=BATCH)
            if not ids:
                cache.delete(key)  # free the slot first, then look once more (module docstring)
                ids = _claim(limit=BATCH)
                if not ids:
                    break
                if not cache.add(key, 1, settings.WEBHOOK_DRAIN_SLOT_SECONDS):
                    _process(ids)  # another drain holds the slot now and will see what is left
                    return claimed + len(ids)
            else:
                cache.touch(key, settings.WEBHOOK_DRAIN_SLOT_SECONDS)
            claimed += len(ids)
            if len(ids) == BATCH and slot + 1 < settings.WEBHOOK_DRAIN_CONCURRENCY:
                drain_request(slot=slot + 1)
            _process(ids)
    except Exception:
        cache.delete(key)
        raise
    _wake_later()
    return claimed


def _wake_later() -> None:
    """Events still waiting (leased by a drain that died, or backing off): a drain for when the first is due."""
    from chats.tasks import drain_webhook_events_task

    if drain_webhook_events_task.app.conf.task_always_eager:
        return  # no worker to defer to: the next webhook's drain (or the beat) picks them up
    first = (WebhookEvent.objects.filter(processed_at__isnull=True, attempts__lt=MAX_ATTEMPTS)
             .aggregate(first=Min("available_at"))["first"])
    if first is not None:
        wait = max(0.5, min((first - timezone.now()).total_seconds(), settings.WEBHOOK_LEASE_SECONDS))
        drain_webhook_events_task.apply_async(args=[0, False], countdown=wait)
