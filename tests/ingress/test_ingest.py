"""Ingest: every shape parsed and stored; exactly once; statuses only forward; batches whole."""
import json
import threading
from datetime import datetime, timezone

import pytest
from django.db import connection

from chats.models import AuditEvent, Conversation, Message, MessageReaction, WebhookEvent
from chats.whatsapp.parser import parse_body
from templates_app.models import MessageTemplate
from tests.factories import AccountFactory, PhoneNumberFactory, TemplateFactory, ThreadFactory, WabaFactory
from tests.whatsapp.conftest import OWN_FIXTURES, load_cases, post_webhook, shared_fixtures_dir, status_body, text_body

SHARED = shared_fixtures_dir()
OWN_CASES = load_cases(OWN_FIXTURES)


@pytest.mark.skipif(SHARED is None, reason="../shared/meta-webhook-fixtures is absent")
@pytest.mark.django_db
def test_every_shared_fixture_is_parsed_and_ingested(client):
    cases = load_cases(SHARED)
    assert len(cases) >= 40
    for name, body in cases:
        response = post_webhook(client, body)
        assert response.status_code == 200, name
    events = WebhookEvent.objects.all()
    assert events.count() == len(cases)
    assert all(e.processed_at is not None and e.error == "" for e in events), [e.error for e in events if e.error]
    # unknown senders and numbers are kept, not dropped
    assert Message.objects.filter(unrouted_reason__startswith="no business number").exists()


@pytest.mark.parametrize("name,body", OWN_CASES, ids=[n for n, _ in OWN_CASES])
def test_own_fixture_parses(name, body):
    parsed = parse_body(json.dumps(body))
    assert parsed.messages or parsed.statuses or parsed.template_updates or parsed.reactions, name
    for message in parsed.messages:
        assert message.wamid and message.body, name


@pytest.fixture
def fixture_world(db, alex):
    """The business number and HCP our own fixtures talk about."""
    waba = WabaFactory(waba_id="102290129340398")
    number = PhoneNumberFactory(waba=waba, phone_number_id="106540352242922", display_phone_number="+1 555 078 3881",
                                reps=[alex])
    account = AccountFactory(name="Sheena Nelson", whatsapp_number="+447700900123", team=[alex])
    thread = ThreadFactory(user=alex, account=account, phone_number=number)
    outbound = Message.objects.create(thread=thread, phone_number=number, account=account, direction="outbound",
                                      body="Hello", wamid="wamid.HBgLOUTBOUND0001", status="queued")
    return {"number": number, "account": account, "thread": thread, "outbound": outbound, "waba": waba}


@pytest.mark.django_db
def test_own_fixtures_ingest_as_documented(client, fixture_world):
    for name, body in OWN_CASES:
        assert post_webhook(client, body).status_code == 200, name
    assert WebhookEvent.objects.exclude(error="").count() == 0
    by_body = {m.wa_type: m for m in Message.objects.filter(direction="inbound")}
    thread = fixture_world["thread"]
    text = Message.objects.get(body="Could you send me the dosing study?")
    assert text.kind == "text" and text.thread == thread and text.status == "received"
    # a sticker is a file like a photo: fetched from Meta (the sandbox has none of it, so it failed)
    assert by_body["sticker"].kind == "inbound_media" and by_body["sticker"].body == "[sticker]"
    assert by_body["sticker"].media["status"] == "failed"
    # a reaction is no message: it sits on the message it reacts to
    assert "reaction" not in by_body
    assert [(r.message_id, r.emoji, r.by_account_id) for r in MessageReaction.objects.all()] == [
        (fixture_world["outbound"].pk, "👍", fixture_world["account"].pk)]
    assert by_body["location"].kind == "location"
    assert by_body["location"].body == "📍 St Thomas' Hospital, Westminster Bridge Rd, London"
    assert by_body["location"].media["map_url"] == "https://www.google.com/maps?q=51.5033,-0.1196"
    assert by_body["contacts"].kind == "contacts"
    assert by_body["contacts"].body == "👤 contact card\nDr. Omar Farouk · +44 7700 900456"
    assert by_body["order"].kind == "unsupported"
    assert by_body["hologram"].body == "[hologram — not shown in Rapport]"
    assert by_body["image"].kind == "inbound_media" and by_body["image"].body == "Lab results"
    assert by_body["image"].media["id"] == "1479537139650973"
    assert by_body["system"].kind == "system"
    assert Message.objects.get(body="Yes please").kind == "text"
    assert Message.objects.get(body="Thursday 10:00 — at the clinic").media["reply_id"] == "slot-2"
    reply = Message.objects.get(body="Yes, Tuesday works")
    assert reply.reply_to == fixture_world["outbound"]
    # statuses in fixtures went sent -> delivered -> read, then a late "failed" must not undo read
    outbound = Message.objects.get(pk=fixture_world["outbound"].pk)
    assert outbound.status == "read" and outbound.failure_code == ""
    # template status updates
    assert not MessageTemplate.objects.exists()  # unknown templates: logged, nothing invented


@pytest.mark.django_db
def test_template_status_update_changes_the_template_at_once(client, fixture_world):
    waba = fixture_world["waba"]
    paused = TemplateFactory(waba=waba, name="sample_offer", language="en", meta_template_id="")
    approved = TemplateFactory(waba=waba, name="visit_follow_up", language="en_GB", meta_template_id="594425479261596",
                               meta_status="PENDING")
    cases = json.loads((OWN_FIXTURES / "template_status.json").read_text())
    for body in cases.values():
        post_webhook(client, body)
    paused.refresh_from_db(), approved.refresh_from_db()
    assert paused.meta_status == "PAUSED" and not paused.is_sendable_outside_window
    assert "low quality" in paused.status_reason
    assert approved.meta_status == "APPROVED" and approved.is_sendable_outside_window


@pytest.mark.django_db
def test_same_body_three_times_gives_one_row(client, solo_number, ada):
    body = text_body(number=solo_number, account=ada, wamid="wamid.DUP")
    for _ in range(3):
        assert post_webhook(client, body).status_code == 200
    assert Message.objects.filter(wamid="wamid.DUP").count() == 1
    assert WebhookEvent.objects.count() == 3
    assert AuditEvent.objects.filter(kind="message.received").count() == 1
    assert AuditEvent.objects.filter(kind="window.opened").count() == 1


@pytest.mark.django_db
def test_replay_days_later_changes_nothing(client, solo_number, ada, alex):
    post_webhook(client, text_body(number=solo_number, account=ada, wamid="wamid.OLD", ts=1_700_000_000))
    post_webhook(client, text_body(number=solo_number, account=ada, wamid="wamid.NEW", ts=1_700_050_000))
    post_webhook(client, text_body(number=solo_number, account=ada, wamid="wamid.OLD", ts=1_700_000_000))
    conversation = Conversation.objects.get()
    assert conversation.last_inbound_at == datetime.fromtimestamp(1_700_050_000, tz=timezone.utc)
    assert Message.objects.filter(direction="inbound").count() == 2


@pytest.mark.django_db
def test_late_older_message_does_not_move_window_back(client, solo_number, ada):
    post_webhook(client, text_body(number=solo_number, account=ada, wamid="wamid.B", ts=1_700_050_000))
    post_webhook(client, text_body(number=solo_number, account=ada, wamid="wamid.A", ts=1_700_000_000))
    conversation = Conversation.objects.get()
    assert conversation.window_expires_at == datetime.fromtimestamp(1_700_050_000 + 86400, tz=timezone.utc)


def _outbound(thread, wamid="wamid.OUT", status="sent"):
    return Message.objects.create(thread=thread, phone_number=thread.phone_number, account=thread.account,
                                  direction="outbound", body="Hi", wamid=wamid, status=status)


@pytest.mark.django_db
def test_statuses_reordered_end_at_read(client, solo_number, ada, alex):
    thread = ThreadFactory(user=alex, account=ada, phone_number=solo_number)
    message = _outbound(thread)
    for status, ts in (("read", 1_700_000_300), ("delivered", 1_700_000_200), ("sent", 1_700_000_100)):
        post_webhook(client, status_body(number=solo_number, wamid="wamid.OUT", status=status, ts=ts))
    message.refresh_from_db()
    assert message.status == "read"
    assert message.read_at == datetime.fromtimestamp(1_700_000_300, tz=timezone.utc)
    assert message.delivered_at == datetime.fromtimestamp(1_700_000_200, tz=timezone.utc)


@pytest.mark.django_db
def test_failed_after_delivered_is_ignored_and_failed_keeps_metas_words(client, solo_number, ada, alex):
    thread = ThreadFactory(user=alex, account=ada, phone_number=solo_number)
    delivered = _outbound(thread, "wamid.D", "delivered")
    sent = _outbound(thread, "wamid.S", "sent")
    body = json.loads((OWN_FIXTURES / "statuses.json").read_text())["failed_window_closed"]
    for wamid in ("wamid.D", "wamid.S"):
        change = body["entry"][0]["changes"][0]["value"]
        change["metadata"]["phone_number_id"] = solo_number.phone_number_id
        change["statuses"][0]["id"] = wamid
        post_webhook(client, json.dumps(body).encode())
    delivered.refresh_from_db(), sent.refresh_from_db()
    assert delivered.status == "delivered"
    assert sent.status == "failed" and sent.failure_code == "window_closed" and sent.error_code == 131047
    assert sent.error_title == "Re-engagement message"
    assert "24 hours have passed" in sent.error_details
    assert sent.failure_reason == "more than 24 hours since the HCP last wrote; send an approved template"
    # and a later "read" never resurrects a failed message
    post_webhook(client, status_body(number=solo_number, wamid="wamid.S", status="read"))
    sent.refresh_from_db()
    assert sent.status == "failed"


@pytest.mark.django_db
def test_status_for_unknown_wamid_is_kept_without_error(client, solo_number):
    response = post_webhook(client, status_body(number=solo_number, wamid="wamid.NOBODY", status="delivered"))
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.processed_at is not None and b"wamid.NOBODY" in bytes(event.body)


@pytest.mark.django_db
def test_batch_is_processed_whole(client, fixture_world):
    body = json.loads((OWN_FIXTURES / "batch.json").read_text())["batch"]
    Message.objects.filter(pk=fixture_world["outbound"].pk).update(status="sent")
    assert post_webhook(client, body).status_code == 200
    assert set(Message.objects.filter(direction="inbound").values_list("wamid", flat=True)) == {
        "wamid.BATCH0001", "wamid.BATCH0002", "wamid.BATCH0003"}
    assert Message.objects.get(pk=fixture_world["outbound"].pk).status == "read"
    assert Message.objects.get(wamid="wamid.BATCH0003").kind == "inbound_media"  # a sticker


@pytest.mark.django_db(transaction=True)
def test_three_concurrent_deliveries_store_one_row(solo_number, ada):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency needs PostgreSQL (SQLite serialises writers)")
    from django.db import connections
    from django.test import Client

    body = text_body(number=solo_number, account=ada, wamid="wamid.RACE")
    barrier = threading.Barrier(3)
    codes = []

    def deliver():
        try:
            barrier.wait()
            codes.append(post_webhook(Client(), body).status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [200, 200, 200]
    assert Message.objects.filter(wamid="wamid.RACE").count() == 1
    assert WebhookEvent.objects.filter(processed_at__isnull=False).count() == 3
    assert AuditEvent.objects.filter(kind="window.opened").count() == 1
