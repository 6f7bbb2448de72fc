"""Account search, thread list and a page of messages at 100,000 accounts, 1,000,000
messages and 200 reps, through the real API views (Django's test client, token auth).

Bar (docs/performance.md): each p95 under 50 ms, with a number of SQL queries that does
not grow with the data. Runs against the database DATABASE_URL names (a dedicated bench
database such as rapport_bench), building the data set once with the generator and
reusing it on later runs. Sizes: BENCH_ACCOUNTS / BENCH_MESSAGES / BENCH_REPS.

Every timed request counts. Beside the percentiles each endpoint also reports where the time
went, so a slow figure can be read: the time spent in SQL (p50 and p95), the slowest
rep's median (a plan that flips for some reps shows there), and the gen-2 garbage collections
that ran inside timed requests (each pauses the whole process; they make the p99 and max).
"""
import gc
import os
import random
import statistics
import time

from django.db import connection
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext
from chats.inbox.services import api_token_issue

from chats.devtools.scale import ScaleDataRefused, generate_scale_data, rep_username
from chats.models import Thread
from tests.bench._common import SKIPPED, services_available, summary, pct

OWN_DATABASE = True
ACCOUNTS = int(os.environ.get("BENCH_ACCOUNTS", 100_000))
MESSAGES = int(os.environ.get("BENCH_MESSAGES", 1_000_000))
REPS = int(os.environ.get("BENCH_REPS", 200))
REQUESTS = 200
TARGET_P95_MS = 50.0


class _SqlTimer:
    """Milliseconds spent executing SQL while installed as an execute wrapper."""

    def __init__(self):
        self.ms = 0.0

    def __call__(self, execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.ms += (time.perf_counter() - start) * 1000


class _Gen2Pauses:
    """Durations (ms) of the gen-2 garbage collections that ran while `timing` is set."""

    def __init__(self):
        self.timing, self.pauses, self._start = False, [], 0.0

    def __call__(self, phase, info):
        if info["generation"] != 2 or not self.timing:
            return
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.pauses.append((time.perf_counter() - self._start) * 1000)


def _measure(client: Client, urls: list[str], n: int, gen2: _Gen2Pauses
             ) -> tuple[list[float], list[float], set[int], int]:
    samples, sql_ms, query_counts, bad = [], [], set(), 0
    for url in urls[:10]:  # warm up: connection, caches, plans
        client.get(url)
    for i in range(n):
        url = urls[i % len(urls)]
        timer = _SqlTimer()
        with CaptureQueriesContext(connection) as ctx, connection.execute_wrapper(timer):
            gen2.timing = True
            start = time.perf_counter()
            response = client.get(url)
            samples.append((time.perf_counter() - start) * 1000)
            gen2.timing = False
        sql_ms.append(timer.ms)
        bad += response.status_code != 200
        query_counts.add(len(ctx.captured_queries))
    return samples, sql_ms, query_counts, bad


def run() -> None:
    if not services_available():
        print(SKIPPED)
        return
    from django.conf import settings

    print(f"database: {settings.DATABASES['default']['NAME']}; sizes: {ACCOUNTS:,} accounts, {MESSAGES:,} messages, "
          f"{REPS} reps")
    try:
        report = generate_scale_data(accounts=ACCOUNTS, messages=MESSAGES, reps=REPS)
    except ScaleDataRefused as exc:
        print(f"skipped: {exc}")
        return
    print("data set: " + ("reused" if report.reused else "generated") + "; " + ", ".join(report.lines()))
    rng = random.Random(3)
    reps = [rep_username(i) for i in rng.sample(range(REPS), min(10, REPS))]
    results = {}
    from django.contrib.auth import get_user_model

    clients = []
    for username in reps:
        user = get_user_model().objects.get(username=username)
        key, _ = api_token_issue(user=user)
        busiest = (Thread.objects.filter(user=user).annotate(n=Count("messages")).order_by("-n")
                   .values_list("id", flat=True)[:3])
        clients.append((username, Client(HTTP_AUTHORIZATION=f"Token {key}"), list(busiest)))
    gen2 = _Gen2Pauses()
    gc.callbacks.append(gen2)
    for name, make_urls in {
        "account search by name (?search=hopper)": lambda t: ["/api/v1/accounts/?search=hopper"],
        "account search by number digits (?search=1999000)": lambda t: ["/api/v1/accounts/?search=1999000"],
        "account list, first page (no search)": lambda t: ["/api/v1/accounts/"],
        "thread list, first page": lambda t: ["/api/v1/threads/"],
        "messages, first page of the rep's busiest threads": lambda t: [f"/api/v1/threads/{i}/messages/" for i in t],
    }.items():
        samples, sql_ms, counts, bad, per_rep = [], [], set(), 0, []
        gen2.pauses.clear()
        for username, client, busiest in clients:
            s, q, c, b = _measure(client, make_urls(busiest), REQUESTS // len(clients), gen2)
            samples += s
            sql_ms += q
            counts |= c
            bad += b
            per_rep.append((statistics.median(s), username))
        results[name] = pct(samples, 0.95)
        print(f"{name}: {summary(samples)}; SQL queries per request: {sorted(counts)}; non-200: {bad}")
        slowest = max(per_rep)
        print(f"    SQL time per request p50 {statistics.median(sql_ms):.2f} ms, p95 {pct(sql_ms, 0.95):.2f} ms; "
              f"slowest rep p50 {slowest[0]:.2f} ms ({slowest[1]}); gen-2 GC pauses inside timed requests: "
              f"{len(gen2.pauses)}" + (f" (max {max(gen2.pauses):.0f} ms)" if gen2.pauses else ""))
    gc.callbacks.remove(gen2)
    worst = max(results.values())
    print(f"bar p95 < {TARGET_P95_MS:g} ms on every endpoint: {'met' if worst < TARGET_P95_MS else 'NOT met'} "
          f"(worst p95 {worst:.2f} ms)")
