"""Account search, thread list and a page of messages at 100,000 accounts, 1,000,000
messages and 200 reps, through the real API views (Django's test client, token auth).

Bar (DESIGN.md section 9): each p95 under 50 ms, with a number of SQL queries that does
not grow with the data. Runs against the database DATABASE_URL names (a dedicated bench
database such as rapport_bench), building the data set once with the generator and
reusing it on later runs. Sizes: BENCH_ACCOUNTS / BENCH_MESSAGES / BENCH_REPS.
"""
import os
import random
import time

from django.db import connection
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from chats.models import Thread
from chats.scale import ScaleDataRefused, generate_scale_data, rep_username
from tests.bench._common import SKIPPED, services_available, summary, pct

OWN_DATABASE = True
ACCOUNTS = int(os.environ.get("BENCH_ACCOUNTS", 100_000))
MESSAGES = int(os.environ.get("BENCH_MESSAGES", 1_000_000))
REPS = int(os.environ.get("BENCH_REPS", 200))
REQUESTS = 200
TARGET_P95_MS = 50.0


def _measure(client: Client, urls: list[str], n: int) -> tuple[list[float], set[int], int]:
    samples, query_counts, bad = [], set(), 0
    for url in urls[:10]:  # warm up: connection, caches, plans
        client.get(url)
    for i in range(n):
        url = urls[i % len(urls)]
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            response = client.get(url)
            samples.append((time.perf_counter() - start) * 1000)
        bad += response.status_code != 200
        query_counts.add(len(ctx.captured_queries))
    return samples, query_counts, bad


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
        token, _ = Token.objects.get_or_create(user=user)
        busiest = (Thread.objects.filter(user=user).annotate(n=Count("messages")).order_by("-n")
                   .values_list("id", flat=True)[:3])
        clients.append((Client(HTTP_AUTHORIZATION=f"Token {token.key}"), list(busiest)))
    for name, make_urls in {
        "account search by name (?search=hopper)": lambda t: ["/api/v1/accounts/?search=hopper"],
        "account search by number digits (?search=1999000)": lambda t: ["/api/v1/accounts/?search=1999000"],
        "account list, first page (no search)": lambda t: ["/api/v1/accounts/"],
        "thread list, first page": lambda t: ["/api/v1/threads/"],
        "messages, first page of the rep's busiest threads": lambda t: [f"/api/v1/threads/{i}/messages/" for i in t],
    }.items():
        samples, counts, bad = [], set(), 0
        for client, busiest in clients:
            s, c, b = _measure(client, make_urls(busiest), REQUESTS // len(clients))
            samples += s
            counts |= c
            bad += b
        results[name] = pct(samples, 0.95)
        print(f"{name}: {summary(samples)}; SQL queries per request: {sorted(counts)}; non-200: {bad}")
    worst = max(results.values())
    print(f"bar p95 < {TARGET_P95_MS:g} ms on every endpoint: {'met' if worst < TARGET_P95_MS else 'NOT met'} "
          f"(worst p95 {worst:.2f} ms)")
