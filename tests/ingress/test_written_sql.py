"""The drain's written-out statements (chats/models/sql.py) store and read what the ORM would.

On PostgreSQL these run the hand-written SQL; on SQLite the ORM fallbacks. Each test
compares with what the ORM itself reads back, so a column the SQL forgets shows up.
"""
import uuid
from datetime import timedelta

import pytest
from django.db import models
from django.forms.models import model_to_dict
from django.utils import timezone

from chats.compliance.audit import audit_entry, audit_save
from chats.conversations import policy
from chats.conversations.announcements import state_events_of
from chats.ingress import sql as ingress_sql
from chats.models import AuditEvent, Conversation, Message, Thread
from chats.models.sql import bulk_insert
from chats.realtime import payloads
from tests.factories import AccountFactory, ThreadFactory, UserFactory

pytestmark = pytest.mark.django_db


def _stored(model, obj) -> dict:
    row = model.objects.get(pk=obj.pk)
    return {f.attname: getattr(row, f.attname) for f in model._meta.concrete_fields}


def test_bulk_insert_stores_every_field_as_the_rows_hold_them(alex, ada, solo_number):
    # given two messages with every kind of value: JSON, a UUID, datetimes, choices, nulls
    thread = ThreadFactory(user=alex, account=ada, phone_number=solo_number)
    at = timezone.now() - timedelta(minutes=3)
    rows = [
        Message(thread=thread, account=ada, phone_number=solo_number, direction=Message.Direction.OUTBOUND,
                kind=Message.Kind.TEXT, body="hello", template_variables={"1": "Ada"}, wamid="wamid.W1",
                wa_timestamp=at, media={"link": {"url": "https://example.org/x", "n": [1, 2]}},
                status=Message.Status.SENT, sent_at=at, error_code=131047, send_attempts=2,
                client_id=uuid.uuid4(), sender=alex),
        Message(account=ada, direction=Message.Direction.INBOUND, body="unrouted", unrouted_reason="no thread"),
    ]
    before = timezone.now()
    # when they are inserted together
    bulk_insert(Message, rows)
    # then each has its id, and the database holds exactly the values of the rows
    assert all(row.pk for row in rows) and rows[0].pk != rows[1].pk
    for row in rows:
        assert row.created_at >= before  # auto_now_add, set on the row as the ORM does
        assert _stored(Message, row) == {f.attname: getattr(row, f.attname) for f in Message._meta.concrete_fields}
    assert Message.objects.get(pk=rows[0].pk).media == {"link": {"url": "https://example.org/x", "n": [1, 2]}}


def test_insert_rows_stores_what_an_instance_would_with_the_defaults_filled(alex, ada, solo_number):
    # given audit rows as plain values, one leaving out its details (a JSON default) and its time (auto_now_add)
    from chats.models.sql import insert_rows

    before = timezone.now()
    ids = insert_rows(AuditEvent, [
        {"kind": AuditEvent.Kind.ROUTED, "actor_id": alex.pk, "account_id": ada.pk, "details": {"rule": "owner"}},
        {"kind": AuditEvent.Kind.MESSAGE_RECEIVED, "phone_number_id": solo_number.pk},
    ])
    # then each has its id, in order, and reads back as the ORM would have stored it
    first, second = (AuditEvent.objects.get(pk=pk) for pk in ids)
    assert (first.kind, first.actor_id, first.account_id, first.details) == ("routing.decision", alex.pk, ada.pk,
                                                                            {"rule": "owner"})
    assert (second.kind, second.phone_number_id, second.details, second.actor_id) == (
        "message.received", solo_number.pk, {}, None)
    assert first.at >= before and second.at >= before


def test_an_audit_entry_of_a_message_never_saved_is_refused(alex, ada, solo_number):
    # given an entry for a message that was never saved
    thread = ThreadFactory(user=alex, account=ada, phone_number=solo_number)
    message = Message(thread=thread, account=ada, phone_number=solo_number, direction=Message.Direction.INBOUND)
    entry = audit_entry(kind=AuditEvent.Kind.MESSAGE_RECEIVED, message=message)
    # then saving it fails loudly rather than writing a row that lost its message
    with pytest.raises(ValueError, match="message was never saved"):
        audit_save([entry])


def test_bulk_insert_takes_the_id_of_a_row_saved_after_it_was_assigned(alex, ada, solo_number):
    # given an audit entry built for a message before that message was saved
    thread = ThreadFactory(user=alex, account=ada, phone_number=solo_number)
    message = Message(thread=thread, account=ada, phone_number=solo_number, direction=Message.Direction.INBOUND)
    entry = audit_entry(kind=AuditEvent.Kind.MESSAGE_RECEIVED, message=message, wamid="wamid.LATE")
    bulk_insert(Message, [message])
    # when the entry is saved
    audit_save([entry])
    # then it points at the message
    assert AuditEvent.objects.get(pk=entry.pk).message_id == message.pk


def test_bulk_insert_refuses_a_field_it_cannot_write():
    from chats.models.sql import _insert_plan

    # given a model with a kind of field the written-out INSERT does not convert (a date)
    from chats.models import DailyMessageRollup

    assert any(isinstance(f, models.DateField) and not isinstance(f, models.DateTimeField)
               for f in DailyMessageRollup._meta.concrete_fields)
    # then planning an INSERT for it fails loudly instead of storing something wrong
    with pytest.raises(TypeError, match="DailyMessageRollup.day"):
        _insert_plan(DailyMessageRollup)


def test_rolled_windows_are_saved_field_for_field(alex, ada, solo_number):
    # given two conversations, one ended by its rep, both rolled in memory by new HCP messages
    other = AccountFactory()
    ended_at = timezone.now() - timedelta(hours=2)
    ended = Conversation.objects.create(phone_number=solo_number, account=ada, owner=alex,
                                        last_inbound_at=ended_at - timedelta(hours=1),
                                        window_expires_at=ended_at + timedelta(hours=23), ended_at=ended_at,
                                        ended_by=alex, expiry_warned_at=ended_at)
    fresh = Conversation.objects.create(phone_number=solo_number, account=other)
    at = timezone.now().replace(microsecond=0)
    for conversation in (ended, fresh):
        policy.roll_window(conversation=conversation, rep_id=alex.pk, at=at, received_at=at)
    # when they are saved together
    ingress_sql.conversations_save_rolled([ended, fresh])
    # then every rolled field is stored, the ending cleared, and nothing else touched
    for conversation in (ended, fresh):
        stored = Conversation.objects.get(pk=conversation.pk)
        assert model_to_dict(stored) == model_to_dict(conversation)
        assert stored.updated_at == conversation.updated_at
        assert (stored.last_inbound_at, stored.window_expires_at, stored.owner_id) == (at, at + policy.WINDOW, alex.pk)
        assert stored.ended_at is None and stored.ended_by_id is None and stored.expiry_warned_at is None


def test_thread_activity_only_moves_forward(alex, ada, solo_number):
    # given a thread active an hour ago and one never active
    now = timezone.now().replace(microsecond=0)
    recent = ThreadFactory(user=alex, account=ada, phone_number=solo_number, last_activity_at=now)
    idle = ThreadFactory(user=UserFactory(), account=ada, phone_number=solo_number)
    # when a late copy of an older message reaches the first, and a new one the second
    ingress_sql.threads_touch({recent.pk: now - timedelta(hours=1), idle.pk: now - timedelta(minutes=5)})
    # then the first keeps its newer activity and the second takes the message's time
    assert Thread.objects.get(pk=recent.pk).last_activity_at == now
    assert Thread.objects.get(pk=idle.pk).last_activity_at == now - timedelta(minutes=5)


def test_state_events_read_consent_and_shared_history_as_the_thread_endpoint_does(alex, ada, solo_number):
    from chats.api.serializers import StateOutput
    from chats.conversations.policy import thread_state

    # given two reps' threads with one HCP, one holding a message, and an HCP without a consent record
    blair = UserFactory()
    solo_number.assignees.add(blair)
    alex_thread = ThreadFactory(user=alex, account=ada, phone_number=solo_number)
    blair_thread = ThreadFactory(user=blair, account=ada, phone_number=solo_number)
    Message.objects.create(thread=blair_thread, account=ada, phone_number=solo_number,
                           direction=Message.Direction.OUTBOUND, body="hi")
    unknown = AccountFactory(consent="none")
    unknown_thread = ThreadFactory(user=alex, account=unknown, phone_number=solo_number)
    conversations = [Conversation.objects.create(phone_number=solo_number, account=a, owner=alex,
                                                 last_inbound_at=timezone.now(),
                                                 window_expires_at=timezone.now() + policy.WINDOW)
                     for a in (ada, unknown)]
    now = timezone.now()
    # when the threads' state events are built
    events = state_events_of(conversations=conversations, now=now)
    # then each thread's state is what thread_state computes from scratch (the thread endpoint)
    assert [(user, kind, payload["thread"]) for user, kind, payload in events] == [
        (alex.pk, "thread.state", alex_thread.pk), (blair.pk, "thread.state", blair_thread.pk),
        (alex.pk, "thread.state", unknown_thread.pk)]
    for (_, _, payload), thread in zip(events, (alex_thread, blair_thread, unknown_thread)):
        fresh = Thread.objects.get(pk=thread.pk)
        expected = payloads.thread_state_payload(thread_id=thread.pk, state=thread_state(thread=fresh, now=now))
        assert expected["state"] == StateOutput(thread_state(thread=fresh, now=now)).data
        assert payload == expected
    assert events[0][2]["state"]["shared_history"] is True and events[1][2]["state"]["shared_history"] is False
    assert events[2][2]["state"]["consent"] == "not_captured"


def test_bulk_insert_stores_webhook_bodies_byte_for_byte():
    from chats.models import WebhookEvent

    # given bodies as Meta signed them, one of them not even UTF-8
    bodies = [b'{"object": "whatsapp_business_account"}', b"\xff\x00\xfe not utf-8", b""]
    # when they are stored together
    events = bulk_insert(WebhookEvent, [WebhookEvent(body=body) for body in bodies])
    # then each row holds its bytes exactly, due now and unprocessed
    stored = {e.pk: e for e in WebhookEvent.objects.filter(pk__in=[e.pk for e in events])}
    assert [bytes(stored[e.pk].body) for e in events] == bodies
    assert all(stored[e.pk].processed_at is None and stored[e.pk].attempts == 0 and stored[e.pk].received_at
               for e in events)


def test_load_models_reads_rows_as_the_orm_does_with_extra_columns(alex, ada, solo_number):
    from chats.models.sql import load_models, model_columns

    # given a stored message with JSON, datetimes and nulls
    thread = ThreadFactory(user=alex, account=ada, phone_number=solo_number)
    stored = Message.objects.create(thread=thread, account=ada, phone_number=solo_number, wamid="wamid.LOAD",
                                    direction=Message.Direction.INBOUND, media={"profile_name": "Ada", "n": [1]},
                                    wa_timestamp=timezone.now() - timedelta(minutes=1), status=Message.Status.RECEIVED)
    # when it is loaded with a written-out statement and one extra column
    [loaded] = load_models(Message, f"SELECT {model_columns(Message, 'm')}, 1 + 1 FROM chats_message m"
                                    " WHERE m.wamid = %s", ["wamid.LOAD"], extra=("two",))
    # then it is the row the ORM reads, field for field, with the extra value beside it
    orm = Message.objects.get(pk=stored.pk)
    assert {f.attname: getattr(loaded, f.attname) for f in Message._meta.concrete_fields} == \
        {f.attname: getattr(orm, f.attname) for f in Message._meta.concrete_fields}
    assert loaded.media == {"profile_name": "Ada", "n": [1]} and loaded.two == 2
    assert loaded._state.adding is False


def test_bulk_insert_can_skip_rows_that_exist_already(alex, ada, solo_number):
    # given a thread stored already (the unique rep, HCP, number)
    ThreadFactory(user=alex, account=ada, phone_number=solo_number)
    other = AccountFactory()
    # when the same thread and a new one are inserted, conflicts skipped
    bulk_insert(Thread, [Thread(user=alex, account=ada, phone_number=solo_number),
                         Thread(user=alex, account=other, phone_number=solo_number)], ignore_conflicts=True)
    # then the new one is stored and the existing one neither doubled nor an error
    assert Thread.objects.filter(user=alex, phone_number=solo_number).count() == 2
    assert Thread.objects.get(user=alex, account=other).created_at is not None
