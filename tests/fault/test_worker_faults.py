"""A real Celery worker killed with SIGKILL, and every Redis connection dropped, mid-run.

Services profile only (RAPPORT_FAULT=1, PostgreSQL and Redis): the test process plays the
web tier through Django's test client (webhooks in, sends through the REST API); a worker
subprocess (`celery -A config worker -P solo`) consumes the real Redis queue against the
same test database and a fake Graph API server on loopback. docs/whatsapp.md "Faults".
"""
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from chats import outbound
from chats.models import Conversation, Message, WebhookEvent
from chats.whatsapp import backends, signatures
from config.celery import app as celery_app
from tests.factories import AccountFactory, PhoneNumberFactory, ThreadFactory, UserFactory
from tests.whatsapp.conftest import text_body
from tests.whatsapp.fake_graph import start_fake_graph

REPO = Path(__file__).resolve().parents[2]
SERVICES = bool(os.environ.get("DATABASE_URL", "").startswith("postgres") and os.environ.get("REDIS_URL"))
pytestmark = [
    pytest.mark.fault,
    pytest.mark.skipif(os.environ.get("RAPPORT_FAULT") != "1" or not SERVICES,
                       reason="fault suite: RAPPORT_FAULT=1 on the services profile (PostgreSQL + Redis)"),
    pytest.mark.django_db(transaction=True),
]
SETTLE_SECONDS = 60


class Worker:
    """One `celery worker` subprocess in its own process group, logging to a file."""

    def __init__(self, env: dict, log: Path):
        self.env, self.log = env, log
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        offset = self.log.stat().st_size if self.log.exists() else 0
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "solo", "-Q", "celery", "-l", "info",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"fault-{uuid.uuid4().hex[:6]}@%h"],
            cwd=REPO, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        out.close()
        wait_for(lambda: " ready." in self.log.read_bytes()[offset:].decode(errors="replace"), 30,
                 f"worker ready (log {self.log})")

    def kill(self) -> None:
        """SIGKILL the whole group: no warm shutdown, no ack, no requeue (a machine losing power)."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


def wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {seconds}s waiting for {what}")


@pytest.fixture
def stack(transactional_db, settings, tmp_path):
    """Fake Graph + worker environment; kills every worker it started on the way out."""
    fake, server = start_fake_graph()
    settings.WHATSAPP_BACKEND = "cloud"
    settings.WHATSAPP_GRAPH_URL = fake.url
    celery_app.conf.task_always_eager = False  # .delay() goes to Redis; the autouse fixture restores it
    celery_app.control.purge()  # leftovers of an earlier aborted run would reference rows that are gone
    db = connection.settings_dict
    env = os.environ | {
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": django_settings.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "WHATSAPP_BACKEND": "cloud",
        "WHATSAPP_GRAPH_URL": fake.url,
        "WHATSAPP_APP_SECRET": settings.WHATSAPP_APP_SECRET,
        "WHATSAPP_TIMEOUT_SECONDS": "3",
        "WHATSAPP_RATE_MAX_WAIT_SECONDS": "0.5",
        "WHATSAPP_RETRY_BASE_SECONDS": "0.2",
        # An unacknowledged task of a killed worker comes back after this (3600 s in production).
        "CELERY_VISIBILITY_TIMEOUT_SECONDS": "2",
        # A killed drain's slot and its claimed webhook bodies are free again after this (10 s / 30 s).
        "WEBHOOK_DRAIN_SLOT_SECONDS": "2",
        "WEBHOOK_LEASE_SECONDS": "2",
    }
    workers: list[Worker] = []

    def new_worker() -> Worker:
        worker = Worker(env, tmp_path / "worker.log")
        workers.append(worker)
        worker.start()
        return worker

    yield fake, new_worker
    for worker in workers:
        worker.kill()
    server.shutdown()
    server.server_close()
    celery_app.control.purge()


@pytest.fixture
def world():
    rep = UserFactory(username="fault.worker.rep")
    number = PhoneNumberFactory(reps=[rep])
    now = timezone.now()
    threads = []
    for _ in range(6):
        hcp = AccountFactory(team=[rep])
        Conversation.objects.create(phone_number=number, account=hcp, owner=rep, last_inbound_at=now,
                                    window_expires_at=now + timedelta(hours=24))
        threads.append(ThreadFactory(user=rep, account=hcp, phone_number=number))
    api = Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=rep).key}")
    return rep, number, threads, api


def deliver(body: bytes) -> None:
    signature = signatures.sign(body, django_settings.WHATSAPP_APP_SECRET)
    response = Client().post("/webhooks/whatsapp/", data=body, content_type="application/json",
                             HTTP_X_HUB_SIGNATURE_256=signature)
    assert response.status_code == 200


def send(api: Client, thread, text: str) -> int:
    response = api.post(f"/api/v1/threads/{thread.pk}/messages/",
                        {"kind": "text", "text": text, "client_id": str(uuid.uuid4())}, content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def inbound_bodies(number, threads, prefix: str, count: int) -> list[bytes]:
    now = int(time.time())
    return [text_body(number=number, account=threads[i % len(threads)].account, wamid=f"wamid.{prefix}.{i}",
                      ts=now - count + i, text=f"{prefix} {i}") for i in range(count)]


def settled() -> bool:
    return (not Message.objects.filter(status="queued").exists()
            and not WebhookEvent.objects.filter(processed_at__isnull=True).exists())


def posts_per_message(fake) -> dict[int, int]:
    counts: dict[int, int] = {}
    for request in fake.messages_posted():
        pk = int(request.json["biz_opaque_callback_data"].rsplit(":", 1)[1])
        counts[pk] = counts.get(pk, 0) + 1
    return counts


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
    status = json.loads(backends.status_body(
        waba_id=number.waba.waba_id, phone_number_id=number.phone_number_id,
        display_phone_number=number.display_phone_number, wamid="wamid.LOST.ANSWER",
        recipient_id=threads[0].account.wa_id, status="delivered"))
    status["entry"][0]["changes"][0]["value"]["statuses"][0]["biz_opaque_callback_data"] = f"rapport:message:{sends[0]}"
    deliver(json.dumps(status).encode())
    wait_for(settled, SETTLE_SECONDS, "the status webhook")

    # then the message learns its wamid and its true status
    in_flight.refresh_from_db()
    assert in_flight.wamid == "wamid.LOST.ANSWER" and in_flight.status == "delivered"


def test_redis_connections_dropped_while_the_worker_consumes(stack, world):
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
            # when every normal client connection of the shared Redis is dropped (they reconnect)
            _redis_client_kill()
    wait_for(lambda: len(fake.messages_posted()) >= 2, 20, "the worker to be sending")
    _redis_client_kill()
    for body in bodies[:5]:
        deliver(body)  # Meta's retries of deliveries that may have looked lost
    wait_for(settled, SETTLE_SECONDS, "every message and webhook to settle")

    # then the same end state: each HCP message once, each send handed to Graph once and sent
    assert Message.objects.filter(direction="inbound").count() == 20
    assert posts_per_message(fake) == {pk: 1 for pk in sends}
    assert set(Message.objects.filter(pk__in=sends).values_list("status", flat=True)) == {"sent"}
    assert not Message.objects.filter(pk__in=sends, wamid__isnull=True).exists()


def _redis_client_kill() -> None:
    url = urlsplit(django_settings.REDIS_URL)
    subprocess.run(["redis-cli", "-h", url.hostname or "127.0.0.1", "-p", str(url.port or 6379),
                    "CLIENT", "KILL", "TYPE", "normal"], check=True, capture_output=True, timeout=10)


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
    assert outbound.stale_queued_messages_requeue(older_than=timedelta(seconds=0.5)) == 1
    wait_for(settled, SETTLE_SECONDS, "the requeued send")
    # then it was sent, once
    assert Message.objects.get(pk=pk).status == "sent"
    assert posts_per_message(fake) == {pk: 1}
