"""Stored webhook bodies are the inbound queue; Celery only wakes the drains that empty it.

Why not one Celery task per body: publishing a task cost about 0.8 ms of CPU in the
web process and consuming it about as much in the worker, more than storing the body
itself (docs/performance.md, "Inbound"). Instead:

- `webhook_receive_many` stores a batch of bodies with `available_at` = now and, after its
  commit, calls `drain_request()` once: one `cache.add` (Redis SET NX) on drain slot 0.
  Only when the slot was free is a `drain_webhook_events_task` published, so under load
  almost no batch publishes anything.
- A drain claims due events in batches of BATCH, larger behind a backlog (one UPDATE … RETURNING whose subquery picks
  them `FOR UPDATE SKIP LOCKED`; it counts the attempt and leases them for WEBHOOK_LEASE_SECONDS), ingests the
  batch's HCP messages in one transaction (chats/ingress/process.py `webhook_events_process`), and marks
  the batch processed. A full batch lets it wake the next slot, up to
  WEBHOOK_DRAIN_CONCURRENCY drains in parallel.
- When it finds nothing due it looks again every 10 ms for WEBHOOK_DRAIN_LINGER_SECONDS
  (a steady stream keeps it at work), then frees its slot and looks once more: an event
  stored after that look finds the slot free and publishes a new drain, so nothing is missed.
- Safety never rests on the slot: a killed drain's slot expires after
  WEBHOOK_DRAIN_SLOT_SECONDS and its leased events become due again after the lease;
  a drain that leaves events waiting (leased, or failed and backing off) schedules
  itself for when the first falls due, and the `drain-webhook-events` beat entry and
  every worker's start-up request a drain too. Processing is idempotent (one row per
  wamid, statuses only move forward), so a body processed twice changes nothing.
"""
from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Min
from django.utils import timezone

from chats import jobs, phases
from chats.ingress.process import webhook_events_process
from chats.models import WebhookEvent
from chats.models.sql import among, db_datetime, is_postgresql

logger = logging.getLogger(__name__)

# Small batches: a batch's live events go out when it commits, so a body waits for the
# others of its batch; and a backlog fills a batch soon enough to wake the next drain.
BATCH = 10
# Behind a backlog (the last claim came back full) a drain doubles its batch up to this: a batch
# has fixed costs (the claim, the look-ups' round trips, the commit, the channel-layer send, the
# marking), about half of a batch of ten's time, which a backlog need not pay every ten bodies
# (docs/performance.md, "The drain's time per message"). It falls back to BATCH once it has caught up.
BACKLOG_BATCH = 80
MAX_ATTEMPTS = 5
LINGER_STEP_SECONDS = 0.01


def _slot_key(slot: int) -> str:
    return f"webhook-drain-slot:{slot}"


def drain_slots_free() -> None:
    """Forget every slot (tests: a drain killed by the previous test must not hold one)."""
    cache.delete_many([_slot_key(slot) for slot in range(settings.WEBHOOK_DRAIN_CONCURRENCY)])


def drain_request(*, slot: int = 0) -> bool:
    """Wake a drain on `slot` unless one holds it already; True when one was woken."""
    if not cache.add(_slot_key(slot), 1, settings.WEBHOOK_DRAIN_SLOT_SECONDS):
        return False
    jobs.enqueue(jobs.DRAIN_WEBHOOK_EVENTS, slot, True)
    return True


def _claim(*, limit: int) -> list[WebhookEvent]:
    """Lease up to `limit` due events to this drain, oldest first, with their bodies; their
    attempt is counted now.

    One statement, its own transaction: an UPDATE of the rows its subquery picks (on
    PostgreSQL locking them, and skipping rows another drain is claiming), returning them.
    """
    now = timezone.now()
    table = connection.ops.quote_name(WebhookEvent._meta.db_table)
    lock = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    picked = (f"SELECT id FROM {table} WHERE processed_at IS NULL AND attempts < %s AND available_at <= %s"
              f" ORDER BY available_at, id LIMIT %s{lock}")
    # On PostgreSQL the picked ids are an ARRAY(...), computed once before the UPDATE. As
    # `id IN (subquery)` the planner may run the subquery again for every row it updates (a
    # nested-loop semi-join, when its statistics say the table is nearly empty), and each run
    # skips the rows this statement already updated: the claim then leased every due event,
    # not `limit` of them.
    picked = f"= ANY(ARRAY({picked}))" if is_postgresql() else f"IN ({picked})"
    sql = (f"UPDATE {table} SET attempts = attempts + 1, available_at = %s WHERE id {picked}"
           " RETURNING id, body, attempts, received_at")
    lease_end = now + timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)
    with phases.phase("claim"), connection.cursor() as cursor:
        cursor.execute(sql, [db_datetime(lease_end), MAX_ATTEMPTS, db_datetime(now), limit])
        rows = cursor.fetchall()
    as_datetime = getattr(connection.ops, "convert_datetimefield_value", None)  # SQLite returns text
    if as_datetime is not None:
        rows = [(pk, body, attempts, as_datetime(received, None, connection)) for pk, body, attempts, received in rows]
    return sorted((WebhookEvent(id=pk, body=bytes(body), attempts=attempts, received_at=received)
                   for pk, body, attempts, received in rows),
                  key=lambda event: event.pk)


def _claim_lingering(*, limit: int) -> list[WebhookEvent]:
    """`_claim`, and when nothing is due, look again every LINGER_STEP_SECONDS for up to
    WEBHOOK_DRAIN_LINGER_SECONDS: under a steady stream the drain stays at work instead of
    leaving and being woken again through the broker (a publish, a worker's pickup and a
    task's start for every few bodies). Not when tasks run eagerly: there the request waits."""
    events = _claim(limit=limit)
    if events or settings.WEBHOOK_DRAIN_LINGER_SECONDS <= 0 or jobs.runs_eagerly():
        return events
    deadline = time.monotonic() + settings.WEBHOOK_DRAIN_LINGER_SECONDS
    while not events and time.monotonic() < deadline:
        time.sleep(LINGER_STEP_SECONDS)
        events = _claim(limit=limit)
    return events


def _process(events: list[WebhookEvent]) -> int:
    """Process a claimed batch in one transaction; if that fails, each body in a transaction of its
    own, so a bad body fails (and backs off, and is dead-lettered) alone, never the bodies beside it.
    Returns how many bodies failed."""
    try:
        with phases.batch(len(events)), transaction.atomic():  # the batch's ingest and its marking commit together
            transaction.on_commit(lambda: phases.end("commit"))  # the first callback: right after COMMIT
            outcomes = webhook_events_process(events=events)
            with phases.phase("mark processed"):
                failures = _mark(events, outcomes)
            phases.begin("commit")
            return failures
    except Exception:  # noqa: BLE001 - tried again body by body, where each failure is recorded
        if len(events) > 1:
            logger.exception("webhook events %s: the batch failed; each body alone", [event.pk for event in events])
    failures = 0
    for event in events:
        try:
            with transaction.atomic():
                failures += _mark([event], webhook_events_process(events=[event]))
        except Exception as exc:  # this body backs off and is tried again, alone
            logger.exception("webhook event %s: processing failed", event.pk)
            _failed(event=event, error=repr(exc))
            failures += 1
    return failures


def _mark(events: list[WebhookEvent], outcomes) -> int:
    """Record each event's outcome; returns how many failed."""
    done, failures = [], 0
    for event in events:
        outcome = outcomes[event.pk]
        if outcome.error:
            _failed(event=event, error=outcome.error)
            failures += 1
        elif outcome.given_up:
            WebhookEvent.objects.filter(pk=event.pk).update(processed_at=timezone.now(), error=outcome.given_up)
        else:
            done.append(event.pk)
    if done:  # written out (chats/models/sql.py): every batch runs it
        ids, params = among(done)
        with connection.cursor() as cursor:
            table = connection.ops.quote_name(WebhookEvent._meta.db_table)
            cursor.execute(f"UPDATE {table} SET processed_at = %s, error = '' WHERE id {ids}",
                           [db_datetime(timezone.now())] + params)
    return failures


def _failed(*, event: WebhookEvent, error: str) -> None:
    """Back off 5, 10, 20, 40 s; after MAX_ATTEMPTS the event is dead-lettered: kept with its error,
    never claimed again, until an admin replays it (`webhook_events_replay`)."""
    if event.attempts >= MAX_ATTEMPTS:
        logger.error("webhook event %s still failing after %s attempts; dead-lettered", event.pk, event.attempts)
        WebhookEvent.objects.filter(pk=event.pk).update(error=error[:5000], dead_lettered_at=timezone.now())
        return
    retry_at = timezone.now() + timedelta(seconds=5 * 2 ** (event.attempts - 1))
    WebhookEvent.objects.filter(pk=event.pk).update(error=error[:5000], available_at=retry_at)


def webhook_events_replay(*, event_ids: list[int]) -> int:
    """Give dead-lettered events their attempts again and wake a drain for them; returns how many."""
    replayed = WebhookEvent.objects.filter(pk__in=event_ids, processed_at__isnull=True,
                                           dead_lettered_at__isnull=False).update(
        attempts=0, dead_lettered_at=None, available_at=timezone.now())
    if replayed:
        transaction.on_commit(drain_request, robust=True)
    return replayed


def webhook_events_drain(*, slot: int = 0, holds_slot: bool = True) -> int:
    """Process due webhook events until none is left; returns how many were claimed.

    `holds_slot` is False for a drain started by the beat, a worker's start-up or a
    delayed wake-up: it takes the slot first, or leaves at once when a drain holds it.
    """
    key, claimed, failures, touched = _slot_key(slot), 0, 0, time.monotonic()
    limit = BATCH
    if not holds_slot and not cache.add(key, 1, settings.WEBHOOK_DRAIN_SLOT_SECONDS):
        return 0
    try:
        while True:
            events = _claim_lingering(limit=limit)
            if not events:
                cache.delete(key)  # free the slot first, then look once more (module docstring)
                events = _claim(limit=BATCH)
                if not events:
                    break
                if not cache.add(key, 1, settings.WEBHOOK_DRAIN_SLOT_SECONDS):
                    failures += _process(events)  # another drain holds the slot now and will see what is left
                    _wake_later(failures=failures)
                    return claimed + len(events)
            elif time.monotonic() - touched > settings.WEBHOOK_DRAIN_SLOT_SECONDS / 4:
                cache.touch(key, settings.WEBHOOK_DRAIN_SLOT_SECONDS)  # still here: keep the slot
                touched = time.monotonic()
            claimed += len(events)
            if len(events) >= BATCH and slot + 1 < settings.WEBHOOK_DRAIN_CONCURRENCY:
                drain_request(slot=slot + 1)
            limit = min(2 * limit, BACKLOG_BATCH) if len(events) == limit else BATCH
            failures += _process(events)
    except Exception:
        cache.delete(key)
        raise
    _wake_later(failures=failures)
    return claimed


def _retry_failed_now() -> None:
    """Eagerly there is no worker to come back later: bodies that failed are tried again at once,
    each until it is processed or out of attempts (then dead-lettered), not when the next webhook
    happens to arrive."""
    failed = WebhookEvent.objects.filter(processed_at__isnull=True, dead_lettered_at__isnull=True,
                                         attempts__gt=0, attempts__lt=MAX_ATTEMPTS).exclude(error="")
    for _ in range(MAX_ATTEMPTS):  # each round counts an attempt of every body it retries
        if not failed.update(available_at=timezone.now()):
            return
        while events := _claim(limit=BATCH):
            _process(events)


def _wake_later(*, failures: int) -> None:
    """Events still waiting (leased by a drain that died, or backing off): a drain for when the first
    is due; without a worker, the bodies this drain saw fail are tried again now."""
    if jobs.runs_eagerly():
        if failures and settings.WEBHOOK_RETRY_WITHOUT_WORKER:
            _retry_failed_now()
        return
    first = (WebhookEvent.objects.filter(processed_at__isnull=True, attempts__lt=MAX_ATTEMPTS)
             .aggregate(first=Min("available_at"))["first"])
    if first is not None:
        wait = max(0.5, min((first - timezone.now()).total_seconds(), settings.WEBHOOK_LEASE_SECONDS))
        jobs.enqueue(jobs.DRAIN_WEBHOOK_EVENTS, 0, False, countdown=wait)
