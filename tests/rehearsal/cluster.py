"""A small Rapport cluster on one machine, for the rehearsal (tests/rehearsal/test_rehearsal.py).

Two web processes (uvicorn, each on its own port), two Celery workers and one beat, against the
test database on the PostgreSQL this run uses, a redis-server of the rehearsal's own (started on
a free port and killed at the end: the shared Redis is never restarted) and, in one variant,
RabbitMQ as the broker (a vhost of the rehearsal's own). Graph API is the suite's fake on loopback.
Every process is started in its own process group and killed on the way out.
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import websockets
from django.conf import settings as django_settings
from django.db import connection

from tests.fault.stack import RedisServer, free_port, wait_for

REPO = Path(__file__).resolve().parents[2]
RABBITMQ_VHOST = "rapport_rehearsal"
RABBITMQ_URL = f"amqp://guest:guest@127.0.0.1:5672/{RABBITMQ_VHOST}"
WAMID = re.compile(r'"wamid": ?"(wamid\.RH[^"]+)"')


def rabbitmq_available() -> bool:
    """RabbitMQ answers on 127.0.0.1:5672 with the rehearsal's vhost (made with rabbitmqctl when missing)."""
    import kombu

    def answers() -> bool:
        try:
            with kombu.Connection(RABBITMQ_URL, connect_timeout=2) as conn:
                conn.ensure_connection(max_retries=1)
            return True
        except Exception:  # noqa: BLE001 - any failure: not available
            return False

    if answers():
        return True
    try:
        subprocess.run(["rabbitmqctl", "add_vhost", RABBITMQ_VHOST], capture_output=True, timeout=30, check=True)
        subprocess.run(["rabbitmqctl", "set_permissions", "-p", RABBITMQ_VHOST, "guest", ".*", ".*", ".*"],
                       capture_output=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return False
    return answers()


class Process:
    """One subprocess in its own process group, logging to a file."""

    def __init__(self, name: str, args: list[str], env: dict, log: Path):
        self.name, self.args, self.env, self.log = name, args, env, log
        self.proc: subprocess.Popen | None = None
        self.killed = False  # by the rehearsal, on purpose

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(self.args, cwd=REPO, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    def log_text(self) -> str:
        return self.log.read_bytes().decode(errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        """SIGKILL the whole group: no shutdown, no acknowledgement (a machine losing power)."""
        self.killed = True
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


class Cluster:
    def __init__(self, *, tmp: Path, graph_url: str, broker: str, mps: int):
        self.tmp, self.broker = tmp, broker
        self.redis = RedisServer(tmp / "redis.log")
        self.redis.start()
        db = connection.settings_dict
        self.env = os.environ | {
            "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
            "DATABASE_POOL_SIZE": "4",  # seven processes on one PostgreSQL: small pools
            "REDIS_URL": self.redis.url,
            "CELERY_BROKER_URL": RABBITMQ_URL if broker == "rabbitmq" else self.redis.url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "WHATSAPP_BACKEND": "cloud", "WHATSAPP_GRAPH_URL": graph_url,
            "WHATSAPP_APP_SECRET": django_settings.WHATSAPP_APP_SECRET,
            "SECRET_KEY": "rehearsal-secret-key-" + "x" * 40,
            "WHATSAPP_VERIFY_TOKEN": "rehearsal-verify-token", "WHATSAPP_ACCESS_TOKEN": "rehearsal-access-token",
            "WHATSAPP_MPS": str(mps), "WHATSAPP_SEND_READ_RECEIPTS": "false",
            "WHATSAPP_TIMEOUT_SECONDS": "3", "WHATSAPP_RATE_MAX_WAIT_SECONDS": "0.5",
            "WHATSAPP_RETRY_BASE_SECONDS": "0.2", "WHATSAPP_STALE_SEND_SECONDS": "2",
            "CELERY_VISIBILITY_TIMEOUT_SECONDS": "2", "WEBHOOK_DRAIN_SLOT_SECONDS": "2", "WEBHOOK_LEASE_SECONDS": "2",
            "API_THROTTLE_SEND_USER": "", "API_THROTTLE_SEND_IP": "", "LOG_LEVEL": "INFO",
            "PYTHONPATH": str(REPO),
        }
        self.webs: dict[str, tuple[Process, int]] = {}
        self.workers: list[Process] = []
        self.beat: Process | None = None

    def start_web(self, name: str) -> int:
        port = free_port()
        web = Process(f"web {name}", [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1",
                                      "--port", str(port), "--workers", "1", "--no-access-log", "--lifespan", "off"],
                      self.env, self.tmp / f"web-{name}.log")
        web.start()
        self.webs[name] = (web, port)
        wait_for(lambda: _answers(f"http://127.0.0.1:{port}/healthz"), 60, f"web {name} (log {web.log})")
        return port

    def start_worker(self) -> Process:
        n = len(self.workers) + 1
        worker = Process(f"worker {n}", [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "solo", "-l",
                                         "info", "--without-gossip", "--without-mingle", "-n",
                                         f"rehearsal{n}-{uuid.uuid4().hex[:6]}@%h"],
                         self.env, self.tmp / f"worker-{n}.log")
        worker.start()
        self.workers.append(worker)
        wait_for(lambda: " ready." in worker.log_text(), 60, f"worker {n} ready (log {worker.log})")
        return worker

    def restart_exited_workers(self) -> int:
        """What a process supervisor (systemd's Restart=always) does: a worker that exited by itself is
        started again. Returns how many were."""
        exited = [w for w in self.workers if not w.killed and w.proc is not None and w.proc.poll() is not None]
        for worker in exited:
            worker.killed = True  # replaced
            self.start_worker()
        return len(exited)

    def start_beat(self) -> None:
        self.beat = Process("beat", [sys.executable, "-m", "celery", "-A", "config", "beat", "-l", "info",
                                     "--schedule", str(self.tmp / "beat-schedule")], self.env, self.tmp / "beat.log")
        self.beat.start()

    def url(self, web: str, path: str) -> str:
        return f"http://127.0.0.1:{self.webs[web][1]}{path}"

    def stop(self) -> None:
        for process in [self.beat, *self.workers, *(web for web, _ in self.webs.values())]:
            if process is not None:
                process.kill()
        self.redis.kill()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def post_webhook(url: str, body: bytes, *, tries: int = 30) -> str:
    """POST a signed body as Meta does, retrying (as Meta retries) until a 200; returns which answer came."""
    from chats.whatsapp import signatures

    headers = {"X-Hub-Signature-256": signatures.sign(body, django_settings.WHATSAPP_APP_SECRET),
               "Content-Type": "application/json"}
    for _ in range(tries):
        try:
            if httpx.post(url, content=body, headers=headers, timeout=5).status_code == 200:
                return "200"
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"webhook never acknowledged by {url}")


class SocketListener:
    """A rep's WebSocket on one web process, read on a thread of its own: the wamids of its
    `message.created` events, in arrival order. `reconnect()` opens a new socket, as a client does."""

    def __init__(self, url: str, token: str):
        self.url, self.token = url, token
        self.wamids: list[str] = []
        self.hellos = 0
        self.drops: list[str] = []  # why the socket closed or could not open, each time
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._task = None
        self.reconnect()

    def reconnect(self) -> None:
        if self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        hellos = self.hellos
        self._task = asyncio.run_coroutine_threadsafe(self._listen(), self._loop)
        wait_for(lambda: self.hellos > hellos, 30, f"the socket's hello (drops: {self.drops[-3:]})")

    async def _listen(self) -> None:
        """Connect, and connect again after a refusal or a drop (as the portal's page does), until cancelled."""
        while True:
            try:
                async with websockets.connect(self.url, subprotocols=["rapport.v1", f"token.{self.token}"],
                                              origin="http://127.0.0.1", max_queue=None) as ws:
                    async for frame in ws:
                        event = json.loads(frame)
                        if event.get("type") == "hello":
                            self.hellos += 1
                        elif event.get("type") == "message.created":
                            self.wamids += WAMID.findall(frame)
            except (OSError, websockets.WebSocketException) as exc:
                self.drops.append(repr(exc))
            await asyncio.sleep(0.5)

    def close(self) -> None:
        if self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._loop.call_soon_threadsafe(self._loop.stop)
