"""The pieces the worker fault tests run: Celery workers and Redis servers as subprocesses, and helpers.

Fixtures that start them (and always kill them) are in tests/fault/conftest.py.
"""
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import kombu.pools
import redis
from django.conf import settings as django_settings
from django.test import Client

from chats.models import Message, WebhookEvent
from chats.whatsapp import signatures
from config.celery import app as celery_app
from tests.whatsapp.conftest import text_body

REPO = Path(__file__).resolve().parents[2]
SERVICES = bool(os.environ.get("DATABASE_URL", "").startswith("postgres") and os.environ.get("REDIS_URL"))
SETTLE_SECONDS = 60
WORKER_APPLICATION_NAME = "rapport-fault-worker"  # the worker's PostgreSQL sessions, in pg_stat_activity


def wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {seconds}s waiting for {what}")


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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """A private `redis-server` the test owns, without persistence: killed, it comes back empty."""

    def __init__(self, log: Path):
        self.port, self.log = free_port(), log
        self.proc: subprocess.Popen | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        out.close()
        wait_for(self.answers, 10, f"redis-server on port {self.port} (log {self.log})")

    def answers(self) -> bool:
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def kill(self) -> None:
        """SIGKILL: every connection drops at once, and what it held (queues, slots, rate keys) is gone."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def client_kill(self) -> None:
        """Drop every normal client connection (workers, web, channel layer); they reconnect."""
        subprocess.run(["redis-cli", "-p", str(self.port), "CLIENT", "KILL", "TYPE", "normal"],
                       check=True, capture_output=True, timeout=10)


def celery_broker_use(url: str) -> None:
    """Point this process's Celery producer at `url`; its pools were built for the old one, so drop them."""
    celery_app.conf.broker_url = url
    kombu.pools.reset()  # closes and forgets every broker connection pool of this process
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


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


def beat_until_settled(seconds: float = SETTLE_SECONDS) -> None:
    """Play `celery beat` fast: publish its two safety nets every second until all work has settled.

    A deployment's beat publishes `drain-webhook-events` every 30 s and `requeue-stale-sends`
    every 60 s (config/settings.py); the worker runs them. Here they go through the broker the
    same way, once a second, and the worker's WHATSAPP_STALE_SEND_SECONDS is 2 (see `stack`).
    A tick that finds the broker down fails as a beat tick would, and the next one tries again.
    """
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if settled():
            return
        for task in ("chats.tasks.drain_webhook_events_task", "chats.tasks.requeue_stale_sends_task"):
            try:
                celery_app.send_task(task)
            except Exception:  # noqa: BLE001 - the broker is still coming back
                pass
        time.sleep(1)
    raise AssertionError(f"timed out after {seconds}s waiting for every message and webhook to settle")


def posts_per_message(fake) -> dict[int, int]:
    counts: dict[int, int] = {}
    for request in fake.messages_posted():
        pk = int(request.json["biz_opaque_callback_data"].rsplit(":", 1)[1])
        counts[pk] = counts.get(pk, 0) + 1
    return counts
