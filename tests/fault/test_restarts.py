"""Redis restarted mid-run, and the worker's own PostgreSQL connections dropped while it works.

Services profile only (RAPPORT_FAULT=1). As in test_worker_faults.py, this process is the web
tier (webhooks through Django's test client, sends through the REST API) and a `celery worker
-P solo` subprocess consumes, against the test database and a fake Graph on loopback.

Beat: a deployment runs `celery beat`, whose `drain-webhook-events` and `requeue-stale-sends`
entries are the designed safety nets. These tests do not start a beat process (its schedule
is 30 s and 60 s); `beat_until_settled` publishes those two tasks through the broker once a
second, as beat would, and the worker runs them with WHATSAPP_STALE_SEND_SECONDS at 2 s.
"""
import os
import time

import pytest
from django.db import connection

from chats.models import Message, WebhookEvent
from tests.fault.stack import (SERVICES, WORKER_APPLICATION_NAME, beat_until_settled, deliver, inbound_bodies,
                               posts_per_message, send, wait_for)

pytestmark = [
    pytest.mark.fault,
    pytest.mark.skipif(os.environ.get("RAPPORT_FAULT") != "1" or not SERVICES,
                       reason="fault suite: RAPPORT_FAULT=1 on the services profile (PostgreSQL + Redis)"),
    pytest.mark.django_db(transaction=True),
]


def assert_every_message_once(*, prefix: str, count: int, sends: list[int], fake) -> None:
    """Each HCP message stored once, every body processed, each send POSTed once and sent, nothing queued."""
    inbound = Message.objects.filter(direction="inbound")
    assert sorted(inbound.values_list("wamid", flat=True)) == sorted(f"wamid.{prefix}.{i}" for i in range(count))
    assert not WebhookEvent.objects.filter(processed_at__isnull=True).exists()
    assert posts_per_message(fake) == {pk: 1 for pk in sends}
    outcomes = {pk: (status, bool(wamid)) for pk, status, wamid in
                Message.objects.filter(pk__in=sends).values_list("pk", "status", "wamid")}
    assert outcomes == {pk: ("sent", True) for pk in sends}
    assert not Message.objects.filter(status="queued").exists()


def test_redis_restarted_empty_mid_run(private_redis, stack, world):
    """Redis is SIGKILLed while the worker consumes and comes back empty on the same port.

    Lost with it: queued and unacknowledged broker messages, retries the worker held for
    later, the drain slots and the rate-limit keys. Webhooks and sends keep arriving while
    it is down and after it is back.
    """
    fake, new_worker = stack
    _rep, number, threads, api = world
    for n in range(8):
        fake.answer(200, {"messages": [{"id": f"wamid.RESTART.OUT.{n}"}]}, delay=0.3)  # the worker is busy when Redis dies
    new_worker()
    bodies = inbound_bodies(number, threads, "RESTART", 24)
    sends = []
    for i, body in enumerate(bodies[:12]):
        deliver(body)
        if i % 3 == 0:
            sends.append(send(api, threads[i % 6], f"before {i}"))
    wait_for(lambda: len(fake.messages_posted()) >= 1, 20, "the worker to be sending")

    # when Redis is killed with work still in its queue
    private_redis.kill()
    pending = (Message.objects.filter(status="queued").count(),
               WebhookEvent.objects.filter(processed_at__isnull=True).count())
    assert pending[0] or pending[1], "the worker finished before Redis went: nothing was in flight"
    # and webhooks and sends arrive while it is down (both answered: the rows are stored)
    for body in bodies[12:16]:
        deliver(body)
    sends += [send(api, threads[i], f"down {i}") for i in range(2)]
    # and it comes back empty on the same port, with more traffic and Meta's retries
    private_redis.start()
    for i, body in enumerate(bodies[16:] + bodies[:4]):
        deliver(body)
        if i % 4 == 0:
            sends.append(send(api, threads[i % 6], f"after {i}"))
    beat_until_settled()

    # then each HCP message once, each send POSTed to Graph once and sent, nothing queued or unprocessed
    assert_every_message_once(prefix="RESTART", count=24, sends=sends, fake=fake)


def _terminate_worker_backends() -> int:
    """pg_terminate_backend on every session the worker holds now; how many there were."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND application_name = %s AND pid <> pg_backend_pid()",
                       [WORKER_APPLICATION_NAME])
        return cursor.fetchone()[0]


def test_worker_postgresql_connections_dropped_while_it_processes(stack, world):
    """The worker's own sessions are terminated while it drains webhooks and while it waits on Meta.

    The worker holds a session only while a task runs: Celery's Django fix-up closes it
    around each task, and in prefork children (the Procfile's worker) it closes a
    DATABASE_POOL_SIZE pool after each task too, so this is how a deployed worker behaves.
    """
    fake, new_worker = stack
    _rep, number, threads, api = world
    for n in range(8):
        fake.answer(200, {"messages": [{"id": f"wamid.PGDROP.OUT.{n}"}]}, delay=0.5)  # the session idles meanwhile
    new_worker()
    bodies = inbound_bodies(number, threads, "PGDROP", 24)
    # when the worker's sessions are terminated while it drains the first bodies
    drops = []
    for i, body in enumerate(bodies[:12]):
        deliver(body)
        if i % 4 == 3:
            drops.append(_terminate_worker_backends())
    # and while it waits on Meta's answer to three of eight sends
    sends = [send(api, threads[i % 6], f"pg {i}") for i in range(8)]
    for _ in range(3):
        posted = len(fake.messages_posted())
        wait_for(lambda: len(fake.messages_posted()) > posted, 20, "the worker to call Graph")
        drops.append(_terminate_worker_backends())
    for body in bodies[12:] + bodies[:4]:  # the rest, and Meta's retries
        deliver(body)
    beat_until_settled()

    # then the drops hit the worker's sessions, mid-send every time, and still: each HCP message
    # once, each send POSTed once and sent (the answers that came back on a dead session were recorded)
    assert all(n >= 1 for n in drops[-3:]), drops
    assert_every_message_once(prefix="PGDROP", count=24, sends=sends, fake=fake)
