"""Fault suite (marked `fault`; runs when RAPPORT_FAULT=1 on the services profile, see .ci/run).

Covered here: webhooks duplicated, replayed and reordered; PostgreSQL connections dropped
between deliveries; the Graph API answering 429, 500 and hanging past the timeout; a
client double-submitting. Each ends with one row per HCP message and per send, statuses
monotonic, nothing left queued. A real worker killed with SIGKILL and dropped Redis
connections: test_worker_faults.py; Redis restarted and the worker's own PostgreSQL
sessions dropped: test_restarts.py.
"""
import os
import random
import time
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from tests.factories import api_token

from chats.models import Conversation, Message
from tests.factories import AccountFactory, PhoneNumberFactory, ThreadFactory, UserFactory
from tests.whatsapp.conftest import fake_graph, post_webhook, run_on_commit, status_body, text_body  # noqa: F401

pytestmark = [
    pytest.mark.fault,
    pytest.mark.skipif(os.environ.get("RAPPORT_FAULT") != "1", reason="fault suite: set RAPPORT_FAULT=1 (services profile)"),
    pytest.mark.django_db,
]


@pytest.fixture
def world():
    alex = UserFactory(username="fault.alex")
    number = PhoneNumberFactory(reps=[alex])
    hcps = [AccountFactory(team=[alex]) for _ in range(5)]
    return alex, number, hcps


def test_duplicated_replayed_reordered_webhooks_store_each_message_once(world):
    _alex, number, hcps = world
    now = int(time.time())
    bodies = [text_body(number=number, account=hcps[i % 5], wamid=f"wamid.FAULT.{i}", ts=now - 100 + i, text=f"m{i}")
              for i in range(30)]
    deliveries = bodies * 3  # every body three times (Meta's at-least-once, and a replay)
    random.Random(4).shuffle(deliveries)  # in any order
    for body in deliveries:
        assert post_webhook(Client(), body).status_code == 200
        if random.random() < 0.1 and connection.vendor == "postgresql":
            _drop_other_connections()
    assert Message.objects.filter(wamid__startswith="wamid.FAULT.").count() == 30
    assert Message.objects.filter(direction="inbound").count() == 30


def test_statuses_only_move_forward_whatever_the_order(world):
    alex, number, hcps = world
    thread = ThreadFactory(user=alex, account=hcps[0], phone_number=number)
    message = Message.objects.create(thread=thread, phone_number=number, account=hcps[0], direction="outbound",
                                     status="sent", wamid="wamid.OUT.1", sender=alex)
    for status in ["read", "delivered", "sent", "delivered", "read"]:
        post_webhook(Client(), status_body(number=number, wamid="wamid.OUT.1", status=status,
                                           recipient=hcps[0].wa_id))
    message.refresh_from_db()
    assert message.status == "read"


@pytest.mark.parametrize("failures", [
    [(429, 130429)], [(500, 131000)], [(500, 131000), (429, 130429), (503, 131000)], ["hang"],
])
def test_graph_errors_and_timeouts_end_in_one_send(world, fake_graph, settings, failures):
    alex, number, hcps = world
    settings.WHATSAPP_TIMEOUT_SECONDS = 0.5
    now = timezone.now()
    Conversation.objects.create(phone_number=number, account=hcps[0], owner=alex, last_inbound_at=now,
                                window_expires_at=now + timedelta(hours=24))
    thread = ThreadFactory(user=alex, account=hcps[0], phone_number=number)
    for failure in failures:
        if failure == "hang":
            fake_graph.answer(200, {"messages": [{"id": "wamid.LATE"}]}, delay=1.5)
        else:
            fake_graph.error(failure[1], "Transient", status=failure[0])
    api = Client(HTTP_AUTHORIZATION=f"Token {api_token(alex)}")
    client_id = str(uuid.uuid4())
    with run_on_commit():
        first = api.post(f"/api/v1/threads/{thread.pk}/messages/", {"kind": "text", "text": "hi", "client_id": client_id},
                         content_type="application/json")
    # a double-submit of the same client_id
    again = api.post(f"/api/v1/threads/{thread.pk}/messages/", {"kind": "text", "text": "hi", "client_id": client_id},
                     content_type="application/json")
    assert first.status_code == 201 and again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert Message.objects.filter(thread=thread).count() == 1
    message = Message.objects.get(thread=thread)
    if failures == ["hang"]:
        # the answer never came: not re-sent (at most once), marked failed timeout_unknown until Meta says more
        assert message.status == "failed" and message.failure_code == "timeout_unknown"
        assert len(fake_graph.messages_posted()) == 1
    else:
        # retried past the transient errors: sent once, never left queued
        assert message.status == "sent" and message.wamid
        assert len(fake_graph.messages_posted()) == len(failures) + 1


def _drop_other_connections():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")
