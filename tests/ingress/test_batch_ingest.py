"""A drain's batch of stored bodies is ingested together: one transaction, a fixed list of statements."""
from unittest import mock

import pytest
from django.db import connection

from chats.ingress import messages as inbound
from chats.ingress import queue as webhook_queue
from chats.models import AuditEvent, Conversation, Message, Thread, WebhookEvent
from tests.factories import AccountFactory
from tests.whatsapp.conftest import text_body

pytestmark = pytest.mark.django_db


def store(body: bytes) -> WebhookEvent:
    return WebhookEvent.objects.create(body=body)


@pytest.fixture
def hcps(db, alex, blair):
    return [AccountFactory(whatsapp_number=f"+4477009001{i:02d}", team=[alex, blair]) for i in range(webhook_queue.BATCH)]


def drain() -> int:
    return webhook_queue.webhook_events_drain(slot=0, holds_slot=False)


def test_a_full_batch_costs_the_statements_of_one_body(settings, solo_number, hcps, django_assert_num_queries):
    settings.WEBHOOK_DRAIN_CONCURRENCY = 1  # a full batch would wake a second drain (its own statements)
    # given every HCP has written before (conversations and threads exist)
    for i, hcp in enumerate(hcps):
        store(text_body(number=solo_number, account=hcp, wamid=f"wamid.FIRST{i}", ts=1_700_000_000))
    drain()
    # when one body is drained, and then a batch of ten bodies from ten HCPs
    store(text_body(number=solo_number, account=hcps[0], wamid="wamid.ONE", ts=1_700_000_100))
    with django_assert_num_queries(19):  # with the change feed's one INSERT (docs/integration.md)
        assert drain() == 1
    for i, hcp in enumerate(hcps):
        store(text_body(number=solo_number, account=hcp, wamid=f"wamid.BATCH{i}", ts=1_700_000_200))
    # then the batch takes the statements of the single body: on PostgreSQL the ten windows move
    # in one UPDATE; on SQLite (no unnest) in one UPDATE each (docs/performance.md, "Ingest")
    per_window = 0 if connection.vendor == "postgresql" else webhook_queue.BATCH - 1
    with django_assert_num_queries(19 + per_window):
        assert drain() == webhook_queue.BATCH
    assert Message.objects.filter(wamid__startswith="wamid.BATCH").count() == webhook_queue.BATCH
    assert AuditEvent.objects.filter(message__wamid__startswith="wamid.BATCH").count() == 3 * webhook_queue.BATCH


def test_messages_of_one_batch_keep_their_order_and_the_window_follows_the_latest(
        solo_number, ada, alex, published, django_capture_on_commit_callbacks):
    # given three bodies from one HCP, the third a late copy of an older message
    store(text_body(number=solo_number, account=ada, wamid="wamid.A", ts=1_700_000_000, text="first"))
    store(text_body(number=solo_number, account=ada, wamid="wamid.B", ts=1_700_000_060, text="second"))
    store(text_body(number=solo_number, account=ada, wamid="wamid.OLD", ts=1_699_999_000, text="late"))
    # when they are drained as one batch (live events go out on commit)
    with django_capture_on_commit_callbacks(execute=True):
        assert drain() == 3
    # then all three are stored in the rep's one thread, in the order they came
    thread = Thread.objects.get(user=alex, account=ada, phone_number=solo_number)
    assert list(thread.messages.order_by("id").values_list("body", flat=True)) == ["first", "second", "late"]
    # and the window runs from the latest HCP message: opened once, rolled once, never moved back
    conversation = Conversation.objects.get(phone_number=solo_number, account=ada)
    assert conversation.last_inbound_at.timestamp() == 1_700_000_060 and conversation.owner_id == alex.pk
    kinds = list(AuditEvent.objects.filter(kind__startswith="window.").order_by("id").values_list("kind", flat=True))
    assert kinds == ["window.opened", "window.rolled"]
    assert thread.last_activity_at.timestamp() == 1_700_000_060
    # and the rep hears the thread's state once and each message once, in order
    sent = [(c.args[1], c.args[2].get("message", {}).get("body")) for c in published.call_args_list]
    assert sent == [("thread.state", None), ("message.created", "first"), ("message.created", "second"),
                    ("message.created", "late")]


def test_a_copy_twice_in_one_batch_is_stored_once(solo_number, ada):
    body = text_body(number=solo_number, account=ada, wamid="wamid.TWICE")
    store(body)
    store(body)
    assert drain() == 2
    assert Message.objects.filter(wamid="wamid.TWICE").count() == 1
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.MESSAGE_RECEIVED).count() == 1
    assert WebhookEvent.objects.filter(processed_at__isnull=False, error="").count() == 2


def test_one_message_that_fails_holds_back_only_its_own_body(solo_number, ada, hcps):
    # given a batch where one message cannot be ingested
    store(text_body(number=solo_number, account=ada, wamid="wamid.GOOD1"))
    bad = store(text_body(number=solo_number, account=hcps[0], wamid="wamid.BAD"))
    store(text_body(number=solo_number, account=hcps[1], wamid="wamid.GOOD2"))
    real_ingest = inbound._ingest

    def broken_for_bad(incoming, received):
        if any(m.wamid == "wamid.BAD" for m in incoming):
            raise RuntimeError("cannot ingest this one")
        return real_ingest(incoming, received)

    # when the batch is drained
    with mock.patch("chats.ingress.messages._ingest", side_effect=broken_for_bad):
        assert drain() == 3
    # then the others are stored and done, and only the bad body backs off with its error
    assert set(Message.objects.values_list("wamid", flat=True)) == {"wamid.GOOD1", "wamid.GOOD2"}
    bad.refresh_from_db()
    assert bad.processed_at is None and "cannot ingest this one" in bad.error
    assert WebhookEvent.objects.filter(processed_at__isnull=False, error="").count() == 2


def test_messages_for_unknown_numbers_and_senders_are_kept_unrouted_beside_routed_ones(solo_number, ada):
    store(text_body(number=solo_number, account=ada, wamid="wamid.NO_NUMBER").replace(
        solo_number.phone_number_id.encode(), b"999"))
    store(text_body(number=solo_number, wa_from="15550000000", wamid="wamid.NO_HCP"))
    store(text_body(number=solo_number, account=ada, wamid="wamid.ROUTED"))
    assert drain() == 3
    reasons = dict(Message.objects.values_list("wamid", "unrouted_reason"))
    assert reasons["wamid.ROUTED"] == ""
    assert reasons["wamid.NO_NUMBER"].startswith("no business number")
    assert reasons["wamid.NO_HCP"].startswith("sender")
    assert Message.objects.get(wamid="wamid.ROUTED").thread is not None


def test_behind_a_backlog_a_drain_claims_larger_batches_and_small_ones_again_once_caught_up(
        settings, solo_number, hcps):
    settings.WEBHOOK_DRAIN_CONCURRENCY = 1
    # given a backlog of 45 stored bodies
    for i in range(45):
        store(text_body(number=solo_number, account=hcps[i % len(hcps)], wamid=f"wamid.BACKLOG{i}", ts=1_700_000_000 + i))
    batches, real = [], webhook_queue._process

    def recording(events):
        batches.append(len(events))
        return real(events)

    # when one drain empties it
    with mock.patch.object(webhook_queue, "_process", recording):
        assert drain() == 45
        # then each full claim doubled the next (10, 20, then the 15 left); every body was ingested once
        assert batches == [10, 20, 15]
        assert Message.objects.filter(wamid__startswith="wamid.BACKLOG").count() == 45
        # and once it has caught up, a new body goes alone, in a batch of the small size again
        store(text_body(number=solo_number, account=hcps[0], wamid="wamid.AFTER", ts=1_700_000_100))
        assert drain() == 1 and batches[-1] == 1
