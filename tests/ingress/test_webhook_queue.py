"""Stored webhook bodies as the inbound queue (chats/ingress/queue.py): drains, slots, leases, backoff."""
import threading
from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chats.ingress import queue as webhook_queue
from chats.ingress.receive import candidate_secrets
from chats.ingress.receive import webhook_receive
from chats.models import Message, WebhookEvent
from chats.whatsapp import signatures
from tests.whatsapp.conftest import post_webhook, run_on_commit, text_body

pytestmark = pytest.mark.django_db


def store(body: bytes) -> WebhookEvent:
    """A stored body no drain has looked at yet (as if every slot were busy)."""
    return WebhookEvent.objects.create(body=body)


def test_acknowledging_a_webhook_costs_one_insert_and_publishes_nothing_when_a_drain_is_running(
        settings, solo_number, ada, django_capture_on_commit_callbacks):
    # given the WABAs' secrets were read once, and a drain holds slot 0
    body = text_body(number=solo_number, account=ada)
    signature = signatures.sign(body, settings.WHATSAPP_APP_SECRET)
    candidate_secrets()
    cache.add("webhook-drain-slot:0", 1, 60)
    # when Meta posts a body
    with mock.patch("chats.tasks.drain_webhook_events_task.delay") as delay:
        with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
            outcome = webhook_receive(body=body, signature=signature)
    # then it is stored with one INSERT and no task is published: the running drain will take it
    assert outcome.status_code == 200
    statements = [q["sql"].split()[0] for q in queries.captured_queries]
    assert [s for s in statements if s not in ("SAVEPOINT", "RELEASE")] == ["INSERT"]  # savepoints: the test's transaction
    delay.assert_not_called()
    event = WebhookEvent.objects.get()
    assert event.processed_at is None and event.attempts == 0


def test_a_running_drain_takes_bodies_stored_while_it_held_the_slot(solo_number, ada):
    # given two bodies stored while a drain held slot 0 (so nobody was woken for them)
    cache.add("webhook-drain-slot:0", 1, 60)
    first = store(text_body(number=solo_number, account=ada, wamid="wamid.Q1", text="one"))
    second = store(text_body(number=solo_number, account=ada, wamid="wamid.Q2", text="two", ts=1_700_000_001))
    # when that drain goes on
    claimed = webhook_queue.webhook_events_drain(slot=0, holds_slot=True)
    # then it processed both, once each, and freed its slot
    assert claimed == 2
    assert list(Message.objects.order_by("wa_timestamp").values_list("body", flat=True)) == ["one", "two"]
    for event in (first, second):
        event.refresh_from_db()
        assert event.processed_at is not None and event.attempts == 1 and event.error == ""
    assert cache.get("webhook-drain-slot:0") is None


def test_a_drain_started_by_the_beat_leaves_when_the_slot_is_held(solo_number, ada):
    cache.add("webhook-drain-slot:0", 1, 60)
    store(text_body(number=solo_number, account=ada))
    assert webhook_queue.webhook_events_drain(slot=0, holds_slot=False) == 0
    assert WebhookEvent.objects.get().processed_at is None
    cache.delete("webhook-drain-slot:0")
    assert webhook_queue.webhook_events_drain(slot=0, holds_slot=False) == 1
    assert Message.objects.count() == 1


def test_bodies_leased_by_a_drain_that_died_are_taken_again_after_the_lease(settings, solo_number, ada):
    settings.WEBHOOK_LEASE_SECONDS = 30
    store(text_body(number=solo_number, account=ada, wamid="wamid.LEASED"))
    # given a drain claimed the body and died before processing it
    assert len(webhook_queue._claim(limit=10)) == 1
    # when another drain runs within the lease, it does not touch it
    assert webhook_queue.webhook_events_drain(slot=0, holds_slot=False) == 0
    assert Message.objects.count() == 0
    # then once the lease is over, a drain processes it, once
    with time_machine.travel(timezone.now() + timedelta(seconds=31), tick=False):
        assert webhook_queue.webhook_events_drain(slot=0, holds_slot=False) == 1
    event = WebhookEvent.objects.get()
    assert event.attempts == 2 and event.processed_at is not None
    assert Message.objects.filter(wamid="wamid.LEASED").count() == 1


def test_a_failing_body_backs_off_then_succeeds(solo_number, ada, settings):
    settings.WEBHOOK_RETRY_WITHOUT_WORKER = False  # as with a worker, which comes back after the backoff
    store(text_body(number=solo_number, account=ada, wamid="wamid.FLAKY"))
    start = timezone.now()
    # given ingest fails once (the database hiccups)
    with mock.patch("chats.ingress.process.inbound_messages_ingest", side_effect=RuntimeError("database went away")):
        webhook_queue.webhook_events_drain(slot=0, holds_slot=False)
    event = WebhookEvent.objects.get()
    # then the body is kept with its error, to be tried again in 5 s, not before
    assert event.processed_at is None and event.attempts == 1 and "database went away" in event.error
    assert start + timedelta(seconds=4) < event.available_at < timezone.now() + timedelta(seconds=6)
    assert webhook_queue.webhook_events_drain(slot=0, holds_slot=False) == 0
    # when the drain runs after the backoff
    with time_machine.travel(timezone.now() + timedelta(seconds=6), tick=False):
        assert webhook_queue.webhook_events_drain(slot=0, holds_slot=False) == 1
    # then it is processed and its error cleared
    event.refresh_from_db()
    assert event.processed_at is not None and event.error == "" and event.attempts == 2
    assert Message.objects.filter(wamid="wamid.FLAKY").count() == 1


def test_a_body_that_keeps_failing_is_dead_lettered_after_five_attempts_and_can_be_replayed(
        solo_number, ada, settings):
    settings.WEBHOOK_RETRY_WITHOUT_WORKER = False  # as with a worker, which comes back after the backoff
    store(text_body(number=solo_number, account=ada))
    with mock.patch("chats.ingress.process.inbound_messages_ingest", side_effect=RuntimeError("always broken")):
        for attempt in range(7):
            with time_machine.travel(timezone.now() + timedelta(minutes=10 * attempt), tick=False):
                webhook_queue.webhook_events_drain(slot=0, holds_slot=False)
    # then after its fifth attempt it is dead-lettered, with its error, and no drain takes it again
    event = WebhookEvent.objects.get()
    assert event.attempts == webhook_queue.MAX_ATTEMPTS == 5
    assert event.processed_at is None and event.dead_lettered_at is not None and "always broken" in event.error
    with time_machine.travel(timezone.now() + timedelta(hours=2), tick=False):
        assert webhook_queue.webhook_events_drain(slot=0, holds_slot=False) == 0
    # when an admin replays it once the fault is mended, then it is processed
    with run_on_commit():
        assert webhook_queue.webhook_events_replay(event_ids=[event.pk]) == 1
    event.refresh_from_db()
    assert event.processed_at is not None and event.dead_lettered_at is None and event.attempts == 1
    assert Message.objects.filter(wamid="wamid.T1").count() == 1


def test_one_bad_body_never_holds_back_the_bodies_drained_with_it(solo_number, ada):
    from consent.models import ConsentRecord
    from tests.factories import ConsentTypeFactory

    ConsentTypeFactory(language="en")
    # given a STOP stored between two signed bodies nested too deep to parse, and one whose
    # processing fails for any other reason
    deep = b'{"entry": ' + b"[" * 3000 + b"]" * 3000 + b"}"
    first = store(deep)
    stop = store(text_body(number=solo_number, account=ada, text="STOP", wamid="wamid.STOP1"))
    second = store(deep)
    broken = store(text_body(number=solo_number, account=ada, text="hi", wamid="wamid.BROKEN"))
    real_parse = webhook_queue_parse = __import__("chats.ingress.process", fromlist=["parse_body"]).parse_body

    def parse_or_break(raw):
        if b"wamid.BROKEN" in raw:
            raise RuntimeError("this body breaks the batch")
        return real_parse(raw)

    # when one drain takes them all
    with mock.patch("chats.ingress.process.parse_body", side_effect=parse_or_break):
        assert webhook_queue.webhook_events_drain(slot=0, holds_slot=False) == 4
    # then the STOP is applied at once, in that very drain
    assert ConsentRecord.objects.get(account=ada).status == "opted_out"
    assert WebhookEvent.objects.get(pk=stop.pk).processed_at is not None
    # and the bodies nested too deep are given up (never parseable, never retried), with why
    for bad in (first, second):
        bad.refresh_from_db()
        assert bad.processed_at is not None and "nested too deep" in bad.error and bad.attempts == 1
    # and the one that failed otherwise was tried again alone, as often as it may, then dead-lettered
    broken.refresh_from_db()
    assert broken.processed_at is None and "breaks the batch" in broken.error
    assert broken.attempts == webhook_queue.MAX_ATTEMPTS and broken.dead_lettered_at is not None


def test_without_a_worker_a_failed_body_is_tried_again_at_once(solo_number, ada):
    # given the embedded profile (tasks run in process: no worker comes back after a backoff),
    # and ingest that fails throughout the first attempt (the batch, then the message alone)
    from chats.ingress import process

    real_ingest = process.inbound_messages_ingest
    calls = []

    def fail_once(**kwargs):
        calls.append(1)
        if len(calls) <= 2:
            raise RuntimeError("database hiccup")
        return real_ingest(**kwargs)

    store(text_body(number=solo_number, account=ada, wamid="wamid.AGAIN"))
    # when a drain runs
    with mock.patch("chats.ingress.process.inbound_messages_ingest", side_effect=fail_once):
        webhook_queue.webhook_events_drain(slot=0, holds_slot=False)
    # then the body was processed in that same run, on its second attempt, without waiting for another webhook
    event = WebhookEvent.objects.get()
    assert event.processed_at is not None and event.attempts == 2 and event.error == ""
    assert Message.objects.filter(wamid="wamid.AGAIN").count() == 1


def test_a_full_batch_wakes_the_next_slot(settings, solo_number, ada):
    settings.WEBHOOK_DRAIN_CONCURRENCY = 2
    for i in range(webhook_queue.BATCH + 1):
        store(text_body(number=solo_number, account=ada, wamid=f"wamid.B{i}", ts=1_700_000_000 + i))
    with mock.patch("chats.ingress.queue.drain_request") as request:
        assert webhook_queue.webhook_events_drain(slot=0, holds_slot=False) == webhook_queue.BATCH + 1
    request.assert_called_once_with(slot=1)
    assert Message.objects.count() == webhook_queue.BATCH + 1


def test_a_claim_leases_no_more_than_its_limit_whatever_the_planner_estimates():
    # given statistics that say the queue is empty (analysed with only dead rows in it), so the
    # planner picks a nested loop for the claim, and eleven due events
    WebhookEvent.objects.bulk_create([WebhookEvent(body=b"{}") for _ in range(200)])
    WebhookEvent.objects.all().delete()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE chats_webhookevent")
    for _ in range(webhook_queue.BATCH + 1):
        WebhookEvent.objects.create(body=b"{}")
    # when a drain claims a batch, then it leases a batch, and the next claim the one left
    assert len(webhook_queue._claim(limit=webhook_queue.BATCH)) == webhook_queue.BATCH
    assert len(webhook_queue._claim(limit=webhook_queue.BATCH)) == 1


def test_last_slot_wakes_nobody(settings, solo_number, ada):
    settings.WEBHOOK_DRAIN_CONCURRENCY = 1
    for i in range(webhook_queue.BATCH):
        store(text_body(number=solo_number, account=ada, wamid=f"wamid.C{i}", ts=1_700_000_000 + i))
    with mock.patch("chats.ingress.queue.drain_request") as request:
        webhook_queue.webhook_events_drain(slot=0, holds_slot=False)
    request.assert_not_called()


def test_a_webhook_on_the_embedded_profile_is_processed_before_the_answer(client, solo_number, ada):
    response = post_webhook(client, text_body(number=solo_number, account=ada, text="straight through"))
    assert response.status_code == 200
    assert Message.objects.get().body == "straight through"
    assert WebhookEvent.objects.get().processed_at is not None
    assert cache.get("webhook-drain-slot:0") is None


def test_a_new_waba_secret_is_accepted_at_once_in_this_process(client, solo_number, ada):
    candidate_secrets()  # cached without the new secret
    solo_number.waba.app_secret = "rotated-secret"
    solo_number.waba.save()
    body = text_body(number=solo_number, account=ada)
    assert post_webhook(client, body, secret="rotated-secret").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_two_drains_at_once_process_each_body_exactly_once(solo_number, ada):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent drains need PostgreSQL (SQLite serialises writers)")
    count = 120
    for i in range(count):
        store(text_body(number=solo_number, account=ada, wamid=f"wamid.PAR{i}", ts=1_700_000_000 + i))
    barrier = threading.Barrier(2)
    claimed = []

    def drain(slot):
        try:
            barrier.wait()
            claimed.append(webhook_queue.webhook_events_drain(slot=slot, holds_slot=False))
        finally:
            connections.close_all()

    with mock.patch("chats.ingress.queue.drain_request"):
        threads = [threading.Thread(target=drain, args=(slot,)) for slot in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sum(claimed) == count
    assert Message.objects.filter(wamid__startswith="wamid.PAR").count() == count
    assert set(WebhookEvent.objects.values_list("attempts", flat=True)) == {1}
    assert not WebhookEvent.objects.filter(processed_at__isnull=True).exists()


@pytest.mark.parametrize("history", [2, 12])
def test_ingesting_an_hcp_message_costs_the_same_queries_whatever_the_history(history, solo_number, ada,
                                                                              django_assert_num_queries):
    # given a thread with some history (the window open, earlier messages stored)
    for i in range(history):
        store(text_body(number=solo_number, account=ada, wamid=f"wamid.H{i}", ts=1_700_000_000 + i))
    webhook_queue.webhook_events_drain(slot=0, holds_slot=False)
    store(text_body(number=solo_number, account=ada, wamid="wamid.NEXT", ts=1_700_000_100))
    # when one more body is drained, then the work is the same fixed list of statements (each
    # transaction shows here as SAVEPOINT/RELEASE, inside the test's own): claim with the body (1),
    # in one transaction (2) the ingest in its own savepoint (2): the numbers with their assignees,
    # HCPs and stored copies (3), the conversations locked and threads (2), the messages (1), audit
    # rows (1), windows (1), activity (1), the threads' live state (1), the change feed (1); and the
    # marking (1); the two last looks for more (2)
    with django_assert_num_queries(19):
        assert webhook_queue.webhook_events_drain(slot=0, holds_slot=False) == 1
