"""Signed inbound webhooks at rising rates against the real stack, beside two floors.

Stack: an ASGI server (uvicorn with 1 and 2 workers, daphne once) on 127.0.0.1 with the
services profile (PostgreSQL, Redis), first alone, then with a Celery worker (the Procfile's,
niced) processing on the same machine (see run()); each step sends
signed one-message bodies for `STEP_SECONDS` at a fixed rate and reports the acknowledged
rate and p50/p99 acknowledgement latency, stopping once p99 passes 50 ms. Two references,
both only when RAPPORT_BENCH_ENDPOINTS=1:
- floor: POST /bench/floor/, answered by the webhook's own path (chats/ingress/ack.py, before
  Django) with 200 after reading the body, nothing verified or stored; webhook against floor
  shows what verifying, storing and queueing cost;
- django floor: POST /bench/django-floor/, an empty Django view through the whole Django stack,
  what any Django view costs at least (the webhook's path until it left Django).

Bar (docs/performance.md): >= 1,000 messages/s acknowledged with p99 under 50 ms.
"""
import asyncio
import itertools
import os
import time

from tests.bench._common import (
    SKIPPED, bin_path, child_env, free_port, machine, make_world, pct, services_available, signed_text, start, stop,
    wait_http, wait_worker, worker_command,
)
from tests.bench._load import build_request, run_step

RATES = [int(r) for r in os.environ.get("BENCH_INGEST_RATES",
                                         "250,500,1000,1500,2000,3000,4000,5000,6000,8000,10000").split(",")]
STEP_SECONDS = float(os.environ.get("BENCH_STEP_SECONDS", 5))
P99_LIMIT_MS = 50.0
SERVERS = {
    "uvicorn x1": lambda port: [bin_path("uvicorn"), "config.asgi:application", "--host", "127.0.0.1", "--port",
                                str(port), "--workers", "1", "--no-access-log", "--lifespan", "off", "--log-level",
                                "warning"],
    "uvicorn x2": lambda port: [bin_path("uvicorn"), "config.asgi:application", "--host", "127.0.0.1", "--port",
                                str(port), "--workers", "2", "--no-access-log", "--lifespan", "off", "--log-level",
                                "warning"],
    "daphne x1": lambda port: [bin_path("daphne"), "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"],
}


def _payloads(number, accounts, prefix: str):
    serial = itertools.count()

    def gen():
        for n in serial:
            body, signature = signed_text(number=number, account=accounts[n % len(accounts)], wamid=f"{prefix}{n}")
            yield build_request("/webhooks/whatsapp/", body, {"X-Hub-Signature-256": signature})

    return gen()


def _floor_payloads(path: str = "/bench/floor/"):
    request = build_request(path, b"{}", {})
    return itertools.repeat(request)


def _django_floor_payloads():
    return _floor_payloads("/bench/django-floor/")


def _ramp(port: int, payloads) -> list:
    rows = []
    for rate in RATES:
        # built (and signed) before the step, so that the generator's clock is spent sending
        requests = list(itertools.islice(payloads, int(rate * STEP_SECONDS)))
        result = asyncio.run(run_step(port, iter(requests), rate, STEP_SECONDS))
        rows.append(result)
        p99 = pct(result.latencies_ms, 0.99) if result.latencies_ms else float("inf")
        if p99 > P99_LIMIT_MS or result.errors:
            break
    return rows


def _line(label: str, r) -> str:
    if not r.latencies_ms:
        return f"  {label} offered {r.offered_rate:>5.0f}/s: no answers, {r.errors} errors"
    return (f"  {label} offered {r.offered_rate:>5.0f}/s: acked {r.acked_rate:7.1f}/s, p50 "
            f"{pct(r.latencies_ms, 0.5):6.2f} ms, p99 {pct(r.latencies_ms, 0.99):7.2f} ms, errors {r.errors}")


def _within_bar(r) -> bool:
    return bool(r.latencies_ms) and pct(r.latencies_ms, 0.99) <= P99_LIMIT_MS and not r.errors and r.ok >= 0.99 * r.sent


def _sustained(rows) -> float:
    return max((r.acked_rate for r in rows if _within_bar(r)), default=0.0)


def _rate_text(rows) -> str:
    """The sustained rate, marked as a lower bound when even the last step offered stayed within the bar."""
    ceiling = " (p99 never passed the bar: the steps ended first)" if rows and _within_bar(rows[-1]) else ""
    return f"{_sustained(rows):.0f}/s{ceiling}"


def _one_server(name: str, command, env, number, accounts) -> tuple[float, float, float]:
    """(webhook, floor, django floor) sustained rates with p99 within the bar."""
    port = free_port()
    server = start(command(port), env, f"ingest-{name.replace(' ', '')}")
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
        # a warm server, as in production: each thread's connections, the broker producer, lazy imports
        asyncio.run(run_step(port, _payloads(number, accounts, f"wamid.WARM.{port}."), 50, 2))
        asyncio.run(run_step(port, _floor_payloads(), 50, 2))
        asyncio.run(run_step(port, _django_floor_payloads(), 50, 2))
        print(f"{name}:")
        ramps = {}
        for label, payloads in (("webhook     ", _payloads(number, accounts, f"wamid.BENCH.{port}.")),
                                ("floor       ", _floor_payloads()), ("django floor", _django_floor_payloads())):
            ramps[label] = _ramp(port, payloads)
            for r in ramps[label]:
                print(_line(label, r))
        rates = tuple(_sustained(rows) for rows in ramps.values())
        webhook, floor, django_floor = (_rate_text(rows) for rows in ramps.values())
        print(f"  sustained with p99 <= {P99_LIMIT_MS:g} ms: webhook {webhook}, floor {floor}, "
              f"django floor {django_floor}")
        return rates
    finally:
        stop(server)


def _drain_rate(env, seconds: float = 20.0) -> None:
    """Start the worker on the stored backlog and count the bodies it processes per second."""
    from chats.models import WebhookEvent

    pending = WebhookEvent.objects.filter(processed_at__isnull=True)
    before = pending.count()
    worker = start(worker_command(), env, "ingest-worker")
    try:
        wait_worker()
        started, at_start = time.monotonic(), pending.count()
        time.sleep(seconds)
        done = at_start - pending.count()
        print(f"processing: {done} stored bodies in {time.monotonic() - started:.1f} s = "
              f"{done / (time.monotonic() - started):.0f} messages/s by one niced worker (-c 2), "
              f"backlog {before} before, {pending.count()} after")
    finally:
        stop(worker)
        _purge()


def run() -> None:
    """Two questions, measured apart and then together:
    1. acknowledgement: the web tier alone (processing paused: bodies wait, stored, in PostgreSQL),
       for each server, beside the two floors;
    2. processing: the worker draining the stored backlog, messages/s;
    3. both on this one machine: the chosen server ramped while the worker processes.
    """
    if not services_available():
        print(SKIPPED)
        return
    print(f"machine: {machine()}; steps of {STEP_SECONDS:g} s at {RATES} per second")
    _users, number, accounts, _tokens = make_world(hcps=500)
    env = child_env(RAPPORT_BENCH_ENDPOINTS="1")
    best = {}
    print("1. acknowledgement, web tier alone (no worker running):")
    try:
        for name, command in SERVERS.items():
            best[name] = _one_server(name, command, env, number, accounts)
    finally:
        _purge()
    winner = max(best, key=lambda k: best[k][0])
    rate = best[winner][0]
    print(f"best: {winner} at {rate:.0f} webhooks/s acknowledged with p99 <= {P99_LIMIT_MS:g} ms "
          f"(floor {best[winner][1]:.0f}/s, django floor {best[winner][2]:.0f}/s)")
    print(f"bar >= 1000/s with p99 < {P99_LIMIT_MS:g} ms (web tier): {'met' if rate >= 1000 else 'NOT met'}")
    print("2. processing:")
    _drain_rate(env)
    print(f"3. {winner} with the worker processing at the same time on this machine:")
    worker = start(worker_command(), env, "ingest-worker-together")
    try:
        wait_worker()
        together = _one_server(winner, SERVERS[winner], env, number, accounts)
    finally:
        stop(worker)
        _purge()
        _drop_backlog()
    print(f"together: {together[0]:.0f} webhooks/s acknowledged with p99 <= {P99_LIMIT_MS:g} ms")


def _purge() -> None:
    """Drop what the worker did not get to, so the throwaway database can be dropped."""
    from config.celery import app

    app.control.purge()
    time.sleep(0.5)


def _drop_backlog() -> None:
    """The stored bodies left unprocessed at the end: the benches after this one share the
    database, and their workers would otherwise start by draining this one's backlog."""
    from chats.models import WebhookEvent

    WebhookEvent.objects.filter(processed_at__isnull=True).delete()
