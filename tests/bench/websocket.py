"""HCP message -> the rep's open WebSocket, at 200 messages/s, on the real stack.

uvicorn (1 worker) + a Celery worker + Redis channel layer + PostgreSQL; a websocket
client connected as the rep (token in the subprotocol, docs/realtime.md); signed
inbound webhooks to that rep's HCPs at RATE per second for SECONDS, after a warm-up on other
HCPs; latency from the moment a POST is sent to the moment its `message.created` event
arrives, overall and second by second.

Bar (docs/performance.md): p99 under 100 ms at 200 messages/s.

The worker writes where each drain batch's time went (chats/phases.py, RAPPORT_DRAIN_PHASES_FILE);
the bench prints it per message and per batch (BENCH_WS_PHASES=0: not).
"""
import asyncio
import itertools
import json
import os
import re
import time

import websockets
from django.utils import timezone

from tests.bench._common import (
    SKIPPED, bin_path, child_env, free_port, machine, make_world, pct, services_available, signed_text, start, stop,
    summary, wait_http, wait_worker, worker_command,
)
from tests.bench._load import build_request, run_step

RATE = int(os.environ.get("BENCH_WS_RATE", 200))
# The HCPs who write during the measured run (each one's first message creates its conversation and thread).
HCPS = int(os.environ.get("BENCH_WS_HCPS", 200))
# A database in service has history: messages of other reps and HCPs (chats/devtools/scale.py), with
# statistics. On a new, empty database the look-ups would be planned for empty tables (a sequential scan
# of chats_message, kept by the worker's prepared statements and slower with every message stored) until
# autovacuum first analysed them, a minute later; 0: the empty database.
HISTORY_MESSAGES = int(os.environ.get("BENCH_WS_HISTORY", 100_000))
SECONDS = float(os.environ.get("BENCH_WS_SECONDS", 10))
TARGET_P99_MS = 100.0
WARM_HCPS, WARM_RATE, WARM_SECONDS = 50, 100, 3
MARK = re.compile(r"wsbench-(\d+)")
PHASES = os.environ.get("BENCH_WS_PHASES", "1") == "1"
PHASES_FILE = "/tmp/rapport-bench-drain-phases.jsonl"


async def _measure(port: int, token: str, number, accounts) -> tuple[dict[int, float], int, int]:
    sent_at: dict[int, float] = {}
    latencies: dict[int, float] = {}  # message number -> ms

    # Signed and framed before the clock starts: the load generator shares the 2 cores with the stack.
    requests = []
    for n in range(int(RATE * SECONDS)):
        body, signature = signed_text(number=number, account=accounts[n % len(accounts)],
                                      wamid=f"wamid.WSBENCH.{port}.{n}", text=f"wsbench-{n}")
        requests.append(build_request("/webhooks/whatsapp/", body, {"X-Hub-Signature-256": signature}))

    def payloads():
        for n, request in enumerate(requests):
            sent_at[n] = time.perf_counter()
            yield request

    async with websockets.connect(f"ws://127.0.0.1:{port}/ws/chat/", subprotocols=["rapport.v1", f"token.{token}"],
                                  origin="http://127.0.0.1", max_queue=None) as ws:
        hello = json.loads(await ws.recv())
        assert hello["type"] == "hello", hello

        async def listen():
            async for frame in ws:
                event = json.loads(frame)
                if event.get("type") != "message.created":
                    continue
                found = MARK.search(frame)
                if found and int(found.group(1)) in sent_at:
                    n = int(found.group(1))
                    latencies[n] = (time.perf_counter() - sent_at[n]) * 1000

        listener = asyncio.create_task(listen())
        step = await run_step(port, payloads(), RATE, SECONDS)
        deadline = time.perf_counter() + 15
        while len(latencies) < step.ok and time.perf_counter() < deadline:
            await asyncio.sleep(0.1)
        listener.cancel()
    print(f"POST -> 200 (acknowledged): {summary(step.latencies_ms)}")
    if step.errors:
        print(f"errors: {dict(step.error_kinds)}")
    return latencies, step.ok, step.errors


def _warm_up(port: int, number, accounts) -> None:
    """A warm stack, as in production: the server's and the worker's first requests, connections and
    lazy imports, on HCPs of their own, then a pause for the backlog to clear."""
    def payloads():
        for n in itertools.count():
            body, signature = signed_text(number=number, account=accounts[n % len(accounts)],
                                          wamid=f"wamid.WSWARM.{port}.{n}", text="warm-up")
            yield build_request("/webhooks/whatsapp/", body, {"X-Hub-Signature-256": signature})

    asyncio.run(run_step(port, payloads(), WARM_RATE, WARM_SECONDS))
    time.sleep(2)
    _analyze()


def _analyze() -> None:
    """Statistics of the rows the bench itself has just written (its HCPs, their teams, the warm-up's
    conversations and threads), as autovacuum would have them in service; the history's were taken when it
    was generated."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def run() -> None:
    if not services_available():
        print(SKIPPED)
        return
    print(f"machine: {machine()}; {RATE} webhooks/s for {SECONDS:g} s")
    if HISTORY_MESSAGES:
        from chats.devtools.scale import generate_scale_data

        generate_scale_data(accounts=max(20, HISTORY_MESSAGES // 20), messages=HISTORY_MESSAGES, reps=20,
                            force=True, log=lambda *args: None)
        print(f"history: {HISTORY_MESSAGES} messages of 20 other reps (BENCH_WS_HISTORY), analysed")
    # HCPS measured (each one's first message creates its conversation and thread during the
    # run), 50 more only for the warm-up
    _users, number, accounts, tokens = make_world(hcps=HCPS + WARM_HCPS)
    env = child_env()
    port = free_port()
    if PHASES:
        open(PHASES_FILE, "w").close()
    worker = start(worker_command(), env | ({"RAPPORT_DRAIN_PHASES_FILE": PHASES_FILE} if PHASES else {}),
                   "ws-worker")
    server = start([bin_path("uvicorn"), "config.asgi:application", "--host", "127.0.0.1", "--port", str(port),
                    "--workers", "1", "--no-access-log", "--lifespan", "off", "--log-level", "warning"], env, "ws-server")
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
        wait_worker()
        _warm_up(port, number, accounts[HCPS:])
        if PHASES:
            open(PHASES_FILE, "w").close()  # the measured run's batches only
        measured_from = timezone.now()
        latencies, acked, errors = asyncio.run(_measure(port, tokens[0], number, accounts[:HCPS]))
    finally:
        stop(server)
        stop(worker)
    _print_phases(since=measured_from, wamid_prefix=f"wamid.WSBENCH.{port}.")
    if PHASES:
        print_drain_phases(PHASES_FILE)
    print(f"webhooks acknowledged: {acked}, errors: {errors}; events received: {len(latencies)}")
    # Second by second: a backlog that builds shows as rising latencies, a slow start as a first high second.
    by_second: dict[int, list[float]] = {}
    for n, ms in latencies.items():
        by_second.setdefault(n // RATE, []).append(ms)
    print("p50/p99 ms by second sent: " + ", ".join(
        f"{pct(v, 0.5):.0f}/{pct(v, 0.99):.0f}" for _, v in sorted(by_second.items())))
    latencies = list(latencies.values())
    print(f"POST -> message.created on the rep's socket: {summary(latencies)}")
    p99 = pct(latencies, 0.99) if latencies else float("inf")
    complete = len(latencies) == acked and not errors
    print(f"bar p99 < {TARGET_P99_MS:g} ms at {RATE}/s: {'met' if p99 < TARGET_P99_MS and complete else 'NOT met'}")


def _print_phases(*, since, wamid_prefix: str) -> None:
    """Where a message's time went, from the rows' own stamps: body stored (its webhook row) ->
    message inserted by the drain -> its batch marked processed (commit and publish follow)."""
    from chats.models import Message, WebhookEvent
    from chats.whatsapp.parser import parse_body

    stored = {}
    for event in WebhookEvent.objects.filter(processed_at__isnull=False, received_at__gte=since).only(
            "body", "received_at", "processed_at"):
        for message in parse_body(bytes(event.body)).messages:
            stored[message.wamid] = (event.received_at, event.processed_at)
    waited, ingested = [], []
    for wamid, inserted in Message.objects.filter(wamid__startswith=wamid_prefix).values_list("wamid", "created_at"):
        received, processed = stored[wamid]
        waited.append((inserted - received).total_seconds() * 1000)
        ingested.append((processed - inserted).total_seconds() * 1000)
    print(f"  body stored -> message inserted by the drain: {summary(waited)}")
    print(f"  message inserted -> its batch marked processed: {summary(ingested)}")


def print_drain_phases(path: str) -> None:
    """The drain's batches (chats/phases.py): each phase's time per message and its share of a batch."""
    batches = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    batches = [b for b in batches if b.get("bodies")]
    if not batches:
        print("drain phases: no batch recorded")
        return
    bodies = sum(b["bodies"] for b in batches)
    totals: dict[str, float] = {}
    for b in batches:
        for name, ms in b.items():
            if name != "bodies":
                totals[name] = totals.get(name, 0.0) + ms
    inside = sum(ms for name, ms in totals.items() if name not in ("claim", "batch"))
    totals["(rest of the batch: the drain's own Python, other callbacks)"] = totals["batch"] - inside
    print(f"drain phases: {len(batches)} batches, {bodies} bodies, {bodies / len(batches):.1f} a batch; "
          f"wall time per message (per batch)")
    for name, ms in sorted(totals.items(), key=lambda item: -item[1]):
        print(f"  {name:<62} {ms / bodies * 1000:7.0f} us  ({ms / len(batches):6.2f} ms)")
