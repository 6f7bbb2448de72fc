"""Helpers shared by the benchmarks: percentiles, the services check, subprocess servers."""
from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
SKIPPED = "skipped: needs services profile (PostgreSQL via DATABASE_URL and Redis via REDIS_URL)"


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(samples_ms: list[float]) -> str:
    if not samples_ms:
        return "no samples"
    return (f"n {len(samples_ms)}, p50 {statistics.median(samples_ms):.2f} ms, p95 {pct(samples_ms, 0.95):.2f} ms, "
            f"p99 {pct(samples_ms, 0.99):.2f} ms, max {max(samples_ms):.2f} ms")


def services_available() -> bool:
    """PostgreSQL is the database and Redis answers."""
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        return False
    try:
        import redis

        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1).ping()
        connection.ensure_connection()
    except Exception:  # noqa: BLE001 - any failure means "not available", which is what we report
        return False
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url() -> str:
    """The URL of the database this process uses now (the throwaway one during `make bench`)."""
    db = connection.settings_dict
    host = db.get("HOST") or "127.0.0.1"
    auth = db.get("USER") or "postgres"
    if db.get("PASSWORD"):
        auth += f":{db['PASSWORD']}"
    return f"postgres://{auth}@{host}:{db.get('PORT') or 5432}/{db['NAME']}"


def cloud_secrets() -> dict[str, str]:
    """Secrets of the bench's own for a child on the cloud backend, which refuses the shipped ones
    (chats/checks.py); no webhook the bench signs goes to such a child."""
    import secrets

    return {name: secrets.token_urlsafe(32) for name in settings.SHIPPED_SECRETS}


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"DATABASE_URL": database_url(), "REDIS_URL": settings.REDIS_URL, "CELERY_TASK_ALWAYS_EAGER": "0",
                "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT),
                # the benches measure the stack, one token sending hundreds a minute: no API rate limits
                "API_THROTTLE_SEND_USER": "", "API_THROTTLE_SEND_IP": "",
                "API_THROTTLE_SEARCH_USER": "", "API_THROTTLE_SEARCH_IP": ""})
    if os.environ.get("BENCH_DATABASE_POOL_SIZE"):  # else the default pool (config/settings.py), as deployed
        env["DATABASE_POOL_SIZE"] = os.environ["BENCH_DATABASE_POOL_SIZE"]
    env.update(extra)
    return env


def start(args: list[str], env: dict[str, str], log_name: str) -> subprocess.Popen:
    log = open(f"/tmp/rapport-bench-{log_name}.log", "w")
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def bin_path(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def wait_http(url: str, timeout: float = 30.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up in {timeout} s")


def worker_command() -> list[str]:
    """The Procfile's worker: two processes, niced so that acknowledging webhooks wins the CPU
    over processing them when both want it (docs/operations.md); BENCH_WORKER_NICE sets another
    niceness, to measure what it changes."""
    return ["nice", "-n", os.environ.get("BENCH_WORKER_NICE", "10"), bin_path("celery"), "-A", "config", "worker",
            "-P", "prefork", "-c", "2", "-l", "warning"]


def wait_worker(timeout: float = 60.0) -> None:
    """Until a Celery worker answers a ping: work sent before it is ready waits in the queue
    and would be counted as latency."""
    from config.celery import app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.control.ping(timeout=0.5):
            return
    raise RuntimeError(f"no Celery worker answered in {timeout} s")


def stop(proc: subprocess.Popen) -> None:
    """End a process this bench started, and its children (its own session)."""
    if proc.poll() is None:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()


def make_world(*, hcps: int, reps: int = 1):
    """One WABA number assigned to `reps` licensed reps, and `hcps` opted-in HCPs on their teams.

    Committed for real (the bench runs outside a test transaction) so server processes see it.
    """
    from django.contrib.auth import get_user_model
    from chats.inbox.services import api_token_issue

    from tests.factories import AccountFactory, PhoneNumberFactory, UserFactory

    import redis

    # Leftover Celery messages (unacked ones come back) from an earlier run would point at
    # a dropped database: the bench needs a Redis database of its own and empties it.
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    from chats.models import Account

    # Several benches share one throwaway database: each world gets names and numbers of its own.
    world = get_user_model().objects.filter(username__startswith="bench.").count()
    offset = Account.objects.count()
    users = [UserFactory(username=f"bench.{world + i}") for i in range(reps)]
    number = PhoneNumberFactory(reps=users)
    accounts = [AccountFactory(whatsapp_number=f"+4479{offset + n:08d}") for n in range(hcps)]
    for account in accounts:
        account.team.add(*users)
    tokens = [api_token_issue(user=u)[0] for u in users]
    return users, number, accounts, tokens


def signed_text(*, number, account, wamid: str, text: str = "bench", ts: int | None = None) -> tuple[bytes, str]:
    from chats.whatsapp import bodies, signatures

    body = bodies.text_message_body(
        waba_id=number.waba.waba_id, phone_number_id=number.phone_number_id,
        display_phone_number=number.display_phone_number, wa_from=account.wa_id, text=text, wamid=wamid,
        timestamp=ts or int(time.time()), context_wamid="")
    return body, signatures.sign(body, settings.WHATSAPP_APP_SECRET)


def machine() -> str:
    import platform

    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} CPUs ({cpu}), {mem:.0f} GiB RAM, Python {platform.python_version()}"
