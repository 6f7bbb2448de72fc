"""A real Celery worker killed with SIGKILL, and every Redis connection dropped, mid-run.

Services profile only (RAPPORT_FAULT=1, PostgreSQL and Redis): the test process plays the
web tier through Django's test client (webhooks in, sends through the REST API); a worker
subprocess (`celery -A config worker -P solo`) consumes the real Redis queue against the
same test database and a fake Graph API server on loopback. docs/whatsapp.md "Faults".
Redis restarted and the worker's PostgreSQL connections dropped: test_restarts.py.
"""
import json
import os
import time
from datetime import timedelta

import pytest
from django.test import Client

from chats.delivery import queue
from chats.models import Message
from chats.whatsapp import bodies as meta_bodies
from config.celery import app as celery_app
from tests.fault.stack import (SERVICES, SETTLE_SECONDS, deliver, inbound_bodies, posts_per_message, send, settled,
                               wait_for)

pytestmark = [
    pytest.mark.fault,
    pytest.mark.skipif(os.environ.get("RAPPORT_FAULT") != "1" or not SERVICES,
                       reason="fault suite: RAPPORT_FAULT=1 on the services profile (PostgreSQL + Redis)"),
    pytest.mark.django_db(transaction=True),
]


def test_worker_killed_mid_send_and_mid_inbound(stack, world):
    fake, new_worker = stack
    _rep, number, threads, api = world
    # given Meta takes 5 s to answer the first send, so it is in flight when the worker dies
    fake.answer(200, {"messages": [{"id": "wamid.LOST.ANSWER"}]}, delay=5)
    worker = new_worker()
    sends = [send(api, threads[i], f"first {i}") for i in range(3)]
    bodies = inbound_bodies(number, threads, "KILL", 20)
    for body in bodies + bodies[:10]:  # ten of them delivered twice
        deliver(body)
    sends += [send(api, threads[i], f"second {i}") for i in range(3, 6)]
    wait_for(lambda: len(fake.messages_posted()) >= 1, 20, "the first send to reach Graph")

    # when the worker is SIGKILLed with that send in flight and the rest still in Redis
    worker.kill()
    in_flight = Message.objects.get(pk=sends[0])
    assert in_flight.status == "queued" and in_flight.handoff_started_at is not None and in_flight.wamid is None
    time.sleep(2.5)  # past the (test) visibility timeout, so the new worker's start-up sweep restores the task
    new_worker()
    wait_for(settled, SETTLE_SECONDS, "every message and webhook to settle")

    # then every HCP message is stored once, every webhook processed
    assert Message.objects.filter(direction="inbound").count() == 20
    assert set(Message.objects.filter(direction="inbound").values_list("wamid", flat=True)) == {
        f"wamid.KILL.{i}" for i in range(20)}
    # and no send reached Graph twice: the interrupted one was not resent but marked unknown
    assert posts_per_message(fake) == {pk: 1 for pk in sends}
    in_flight.refresh_from_db()
    assert in_flight.status == "failed" and in_flight.failure_code == "timeout_unknown"
    for pk in sends[1:]:
        message = Message.objects.get(pk=pk)
        assert message.status == "sent" and message.wamid.startswith("wamid.FAKE.")

    # when Meta's status webhook for the lost answer arrives, carrying our callback data
    status = json.loads(meta_bodies.status_body(
        waba_id=number.waba.waba_id, phone_number_id=number.phone_number_id,
        display_phone_number=number.display_phone_number, wamid="wamid.LOST.ANSWER",
        recipient_id=threads[0].account.wa_id, status="delivered"))
    status["entry"][0]["changes"][0]["value"]["statuses"][0]["biz_opaque_callback_data"] = f"rapport:message:{sends[0]}"
    deliver(json.dumps(status).encode())
    wait_for(settled, SETTLE_SECONDS, "the status webhook")

    # then the message learns its wamid and its true status
    in_flight.refresh_from_db()
    assert in_flight.wamid == "wamid.LOST.ANSWER" and in_flight.status == "delivered"


def test_redis_connections_dropped_while_the_worker_consumes(private_redis, stack, world):
    fake, new_worker = stack
    _rep, number, threads, api = world
    for n in range(12):
        fake.answer(200, {"messages": [{"id": f"wamid.SLOW.{n}"}]}, delay=0.3)  # slow answers keep the worker busy while Redis drops it
    new_worker()
    bodies = inbound_bodies(number, threads, "DROP", 20)
    sends = []
    for i, body in enumerate(bodies):
        deliver(body)
        if i % 3 == 0:
            sends.append(send(api, threads[i % 6], f"drop {i}"))
        if i in (5, 12):
            # when every normal client connection of Redis is dropped (they reconnect); a private
            # server, so other users of the shared one are left alone
            private_redis.client_kill()
    wait_for(lambda: len(fake.messages_posted()) >= 2, 20, "the worker to be sending")
    private_redis.client_kill()
    for body in bodies[:5]:
        deliver(body)  # Meta's retries of deliveries that may have looked lost
    wait_for(settled, SETTLE_SECONDS, "every message and webhook to settle")

    # then the same end state: each HCP message once, each send handed to Graph once and sent
    assert Message.objects.filter(direction="inbound").count() == 20
    assert posts_per_message(fake) == {pk: 1 for pk in sends}
    assert set(Message.objects.filter(pk__in=sends).values_list("status", flat=True)) == {"sent"}
    assert not Message.objects.filter(pk__in=sends, wamid__isnull=True).exists()


def test_the_sweep_recovers_a_send_whose_broker_message_was_lost(stack, world):
    fake, new_worker = stack
    _rep, _number, threads, api = world
    # given a send accepted while no worker runs, whose broker message is then lost
    pk = send(api, threads[0], "lost in the broker")
    celery_app.control.purge()
    new_worker()
    time.sleep(1)
    assert Message.objects.get(pk=pk).status == "queued" and fake.messages_posted() == []
    # when the beat's sweep runs (here with a short age so the test need not wait two minutes)
    assert queue.stale_queued_messages_requeue(older_than=timedelta(seconds=0.5)) == 1
    wait_for(settled, SETTLE_SECONDS, "the requeued send")
    # then it was sent, once
    assert Message.objects.get(pk=pk).status == "sent"
    assert posts_per_message(fake) == {pk: 1}
