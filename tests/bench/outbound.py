"""A rep's send -> the Graph API call, on the real stack, against the fake Graph server.

uvicorn + a Celery worker (WHATSAPP_BACKEND=cloud, WHATSAPP_GRAPH_URL = the fake server
from tests/whatsapp/fake_graph.py, run in this process); threads with open windows are
set up directly. After WARM_UP_SENDS untimed sends, two parts:
1. latency: LATENCY_SENDS sends at a gentle pace through POST /api/v1/threads/{id}/messages/,
   each timed from the POST to the fake server's receipt of its request (both clocks are
   this machine's monotonic clock);
2. rate: BURST sends as fast as the API takes them on one number with WHATSAPP_MPS=MPS;
   the fake server's own log must never hold more than MPS requests for that number in
   any 1-second window.

Bar (docs/performance.md): p50 under 50 ms, the per-number rate held exactly.
"""
import os
import statistics
import time
import uuid
from datetime import timedelta

import httpx
from django.utils import timezone

from chats.models import Conversation, Message, Thread
from tests.bench._common import (
    SKIPPED, bin_path, child_env, cloud_secrets, free_port, machine, make_world, services_available, start, stop, summary, wait_http,
    wait_worker, worker_command,
)
from tests.whatsapp.fake_graph import most_in_any_window, start_fake_graph

LATENCY_SENDS = int(os.environ.get("BENCH_OUTBOUND_SENDS", 100))
BURST = int(os.environ.get("BENCH_OUTBOUND_BURST", 200))
MPS = int(os.environ.get("BENCH_OUTBOUND_MPS", 20))
WARM_UP_SENDS = 5
TARGET_P50_MS = 50.0


def _open_threads(user, number, accounts) -> list[Thread]:
    now = timezone.now()
    threads = []
    for account in accounts:
        Conversation.objects.create(phone_number=number, account=account, owner=user, last_inbound_at=now,
                                    window_expires_at=now + timedelta(hours=24))
        threads.append(Thread.objects.create(user=user, account=account, phone_number=number, last_activity_at=now))
    return threads


def _wait_for(fake, n: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len(fake.messages_posted()) < n and time.monotonic() < deadline:
        time.sleep(0.05)


def _print_phases(fake, posted_at: dict, posted_wall: dict) -> None:
    """Where a send's time goes, from the rows' own stamps (this machine's wall clock throughout):
    POST -> row inserted (the API), inserted -> hand-off claimed (commit, the task's publish and
    pickup, the worker's checks), claimed -> Graph request received (rate slot and HTTP call)."""
    received = {r.json["text"]["body"]: r.at for r in fake.messages_posted()
                if r.json and r.json.get("text", {}).get("body", "").startswith("latency-")}
    rows = Message.objects.filter(body__in=list(received), handoff_started_at__isnull=False)
    phases = {"inserted": [], "handed off": [], "received": []}
    for body, created, handoff in rows.values_list("body", "created_at", "handoff_started_at"):
        receipt_wall = posted_wall[body] + (received[body] - posted_at[body])
        phases["inserted"].append((created.timestamp() - posted_wall[body]) * 1000)
        phases["handed off"].append((handoff - created).total_seconds() * 1000)
        phases["received"].append((receipt_wall - handoff.timestamp()) * 1000)
    print("  phases (p50): POST -> row inserted {:.1f} ms, -> hand-off claimed by the worker {:.1f} ms, "
          "-> Graph request received {:.1f} ms".format(*(statistics.median(v) if v else float("nan")
                                                        for v in phases.values())))


def run() -> None:
    if not services_available():
        print(SKIPPED)
        return
    print(f"machine: {machine()}")
    users, number, accounts, tokens = make_world(hcps=max(LATENCY_SENDS, BURST))
    threads = _open_threads(users[0], number, accounts)
    fake, fake_server = start_fake_graph()
    env = child_env(WHATSAPP_BACKEND="cloud", WHATSAPP_GRAPH_URL=fake.url, WHATSAPP_MPS=str(MPS),
                    WHATSAPP_RATE_MAX_WAIT_SECONDS="2", **cloud_secrets())
    port = free_port()
    worker = start(worker_command(), env, "outbound-worker")
    server = start([bin_path("uvicorn"), "config.asgi:application", "--host", "127.0.0.1", "--port", str(port),
                    "--workers", "1", "--no-access-log", "--lifespan", "off", "--log-level", "warning"],
                   env, "outbound-server")
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
        wait_worker()
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Token {tokens[0]}"})
        # a warm stack, as in production (the first requests import, connect and prepare): untimed
        for i in range(WARM_UP_SENDS):
            client.post(f"/api/v1/threads/{threads[-1 - i].pk}/messages/",
                        json={"kind": "text", "text": f"warm-up-{i}", "client_id": str(uuid.uuid4())})
        _wait_for(fake, WARM_UP_SENDS, 30)
        posted_at, posted_wall, statuses, answered_ms = {}, {}, [], []
        for i in range(LATENCY_SENDS):  # 1: latency, 10 sends a second, well under the rate
            text = f"latency-{i}"
            posted_at[text], posted_wall[text] = time.monotonic(), time.time()
            r = client.post(f"/api/v1/threads/{threads[i].pk}/messages/",
                            json={"kind": "text", "text": text, "client_id": str(uuid.uuid4())})
            answered_ms.append((time.monotonic() - posted_at[text]) * 1000)
            statuses.append(r.status_code)
            time.sleep(0.1)
        _wait_for(fake, WARM_UP_SENDS + LATENCY_SENDS, 30)
        latencies = [(r.at - posted_at[r.json["text"]["body"]]) * 1000 for r in fake.messages_posted()
                     if r.json and r.json.get("text", {}).get("body", "").startswith("latency-")]
        print(f"API POST -> Graph request received: {summary(latencies)}; API answers: "
              f"{ {s: statuses.count(s) for s in set(statuses)} }")
        print(f"  of which the API's answer (the send queued): {summary(answered_ms)}")
        _print_phases(fake, posted_at, posted_wall)
        before = len(fake.messages_posted())
        start_burst = time.monotonic()
        for i in range(BURST):  # 2: a burst far above the rate, on one number
            client.post(f"/api/v1/threads/{threads[i].pk}/messages/",
                        json={"kind": "text", "text": f"burst-{i}", "client_id": str(uuid.uuid4())})
        accepted = time.monotonic() - start_burst
        _wait_for(fake, before + BURST, BURST / MPS + 60)
        burst = [r.at for r in fake.messages_posted()[before:]]
        peak = most_in_any_window(burst)
        span = (max(burst) - min(burst)) if burst else 0
        print(f"burst: {BURST} sends accepted by the API in {accepted:.1f} s; {len(burst)} reached Graph over "
              f"{span:.1f} s ({len(burst) / span if span else 0:.1f}/s); most in any 1-second window: {peak} "
              f"(WHATSAPP_MPS={MPS})")
        p50 = statistics.median(latencies) if latencies else float("inf")
        print(f"bar p50 < {TARGET_P50_MS:g} ms: {'met' if p50 < TARGET_P50_MS else 'NOT met'}; "
              f"rate held (<= {MPS} in every second, none lost): "
              f"{'met' if peak <= MPS and len(burst) == BURST else 'NOT met'}")
    finally:
        stop(server)
        stop(worker)
        fake_server.shutdown()
