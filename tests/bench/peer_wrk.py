"""The webhook's acknowledgement beside a peer and the floor, under Debian's `wrk`, on the same cores.

Three servers answer the same distinct signed bodies (tests/bench/peer/post_signed.lua), each
started the Procfile's way (uvicorn, 2 workers):
- floor: Rapport's own `POST /bench/floor/` (chats/ingress/ack.py), 200 after reading the body, nothing else;
- pywa: pywa (pinned in tests/bench/peer/requirements.txt) on FastAPI, verifying the signature and
  parsing each update (tests/bench/peer/pywa_app.py); it stores nothing and answers before it parses;
- Rapport: `POST /webhooks/whatsapp/`, verified and stored durably in PostgreSQL before the 200
  (no worker runs: the acknowledgement alone, as pywa's).
At 1, 8 and 64 connections (BENCH_WRK_CONNECTIONS) for BENCH_WRK_SECONDS each, the levels taken in
turn for the three servers so that they share the machine's state; prints rate, p50, p99, and the
ratios. Needs `wrk` (Debian: apt-get install -y wrk) and the bench's virtualenv, which `make bench`
creates (.bench-venv); the services profile (PostgreSQL, Redis).
"""
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from tests.bench._common import (
    ROOT, SKIPPED, bin_path, child_env, free_port, machine, make_world, services_available, signed_text, start, stop,
    wait_http,
)

CONNECTIONS = [int(c) for c in os.environ.get("BENCH_WRK_CONNECTIONS", "1,8,64").split(",")]
SECONDS = float(os.environ.get("BENCH_WRK_SECONDS", 8))
# Bodies per connection level: enough that no body is sent twice at the rates seen (pywa skips a
# body it has seen, which would flatter it).
MAX_RATE = {1: 4_000, 8: 15_000}
TOP_RATE = 25_000
BENCH_VENV = ROOT / ".bench-venv"
LUA = ROOT / "tests" / "bench" / "peer" / "post_signed.lua"
INSTALL_WRK = "skipped: needs Debian's wrk (apt-get install -y wrk)"
INSTALL_VENV = (f"skipped: needs the bench's own virtualenv with pywa: `make bench` creates it, or "
                f"python3.11 -m venv .bench-venv && .bench-venv/bin/pip install -r tests/bench/peer/requirements.txt")


def _requests_file(number, accounts, *, count: int, prefix: str) -> Path:
    """Signed bodies as Meta sends them since business-scoped user ids: the HCP named by number and by
    user id (pywa 4.5 refuses a contact without `user_id`)."""
    from chats.whatsapp import signatures
    from django.conf import settings

    path = Path(f"/tmp/rapport-bench-wrk-{prefix}.tsv")
    with path.open("w") as out:
        for n in range(count):
            account = accounts[n % len(accounts)]
            body, _ = signed_text(number=number, account=account, wamid=f"wamid.{prefix}.{n}")
            data = json.loads(body)
            value = data["entry"][0]["changes"][0]["value"]
            value["contacts"][0]["user_id"] = value["messages"][0]["from_user_id"] = f"US.BENCH.{account.pk}"
            body = json.dumps(data).encode()
            out.write(f"{signatures.sign(body, settings.WHATSAPP_APP_SECRET)}\t{body.decode()}\n")
    return path


def _wrk(port: int, path: str, requests: Path, connections: int, seconds: float) -> dict:
    threads = min(connections, 2)
    env = dict(os.environ, BENCH_WRK_REQUESTS=str(requests), BENCH_WRK_PATH=path, BENCH_WRK_THREADS=str(threads))
    done = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds:g}s", "--timeout", "10s",
                           "-s", str(LUA), f"http://127.0.0.1:{port}{path}"],
                          env=env, capture_output=True, text=True, timeout=seconds + 120)
    line = next((text for text in done.stdout.splitlines() if text.startswith("{")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary: {done.stdout[-500:]} {done.stderr[-500:]}")
    result = json.loads(line)
    result["rate"] = result["requests"] / result["seconds"]
    return result


def _cell(r: dict) -> str:
    errors = f", {r['non2xx']} non-2xx" if r["non2xx"] else ""
    errors += f", {r['socket_errors']} socket errors" if r["socket_errors"] else ""
    return f"{r['rate']:8.0f}/s p50 {r['p50_us'] / 1000:6.2f} ms p99 {r['p99_us'] / 1000:7.2f} ms{errors}"


def _uvicorn(binary: str, app: list[str], port: int) -> list[str]:
    return [binary, *app, "--host", "127.0.0.1", "--port", str(port), "--workers", "2", "--no-access-log",
            "--lifespan", "off", "--log-level", "warning"]


def run() -> None:
    if not services_available():
        print(SKIPPED)
        return
    if shutil.which("wrk") is None:
        print(INSTALL_WRK)
        return
    if not (BENCH_VENV / "bin" / "uvicorn").exists():
        print(INSTALL_VENV)
        return
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f}; wrk, {SECONDS:g} s per run, "
          f"connections {CONNECTIONS}")
    _users, number, accounts, _tokens = make_world(hcps=500)
    env = child_env(RAPPORT_BENCH_ENDPOINTS="1")
    from django.conf import settings

    rapport_port, pywa_port = free_port(), free_port()
    rapport = start(_uvicorn(bin_path("uvicorn"), ["config.asgi:application"], rapport_port), env, "wrk-rapport")
    pywa = start(_uvicorn(str(BENCH_VENV / "bin" / "uvicorn"), ["--app-dir", "tests/bench/peer", "pywa_app:app"],
                          pywa_port),
                 {"PATH": os.environ.get("PATH", ""), "BENCH_APP_SECRET": settings.WHATSAPP_APP_SECRET,
                  "BENCH_PHONE_NUMBER_ID": number.phone_number_id}, "wrk-pywa")
    servers = {"floor": (rapport_port, "/bench/floor/"), "pywa": (pywa_port, "/webhooks/whatsapp/"),
               "Rapport": (rapport_port, "/webhooks/whatsapp/")}
    rows = []
    try:
        wait_http(f"http://127.0.0.1:{rapport_port}/healthz")
        _wait_port(pywa_port)
        warm = _requests_file(number, accounts, count=4_000, prefix=f"WRKWARM{rapport_port}")
        for name, (port, path) in servers.items():  # each server's first connections, imports, sessions
            _wrk(port, path, warm, 8, 2)
        for connections in CONNECTIONS:
            count = int(MAX_RATE.get(connections, TOP_RATE) * SECONDS)
            requests = _requests_file(number, accounts, count=count, prefix=f"WRK{rapport_port}C{connections}")
            row = {"connections": connections, "load": os.getloadavg()[0]}
            for name, (port, path) in servers.items():
                row[name] = _wrk(port, path, requests, connections, SECONDS)
                print(f"  {connections:>2} connections  {name:<8} {_cell(row[name])}", flush=True)
            requests.unlink()
            rows.append(row)
        warm.unlink()
    finally:
        stop(rapport)
        stop(pywa)
        _drop_stored()
    _print_table(rows)


def _wait_port(port: int, timeout: float = 30.0) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s (log /tmp/rapport-bench-wrk-pywa.log)")


def _print_table(rows: list[dict]) -> None:
    print("| connections (load) | floor | pywa 4.5 on FastAPI | Rapport | Rapport / floor | Rapport / pywa |")
    print("| --- | --- | --- | --- | --- | --- |")
    for row in rows:
        cells = [f"{row[name]['rate']:,.0f}/s, p50 {row[name]['p50_us'] / 1000:.2f} ms, p99 "
                 f"{row[name]['p99_us'] / 1000:.1f} ms" for name in ("floor", "pywa", "Rapport")]
        print(f"| {row['connections']} ({row['load']:.1f}) | " + " | ".join(cells)
              + f" | {row['Rapport']['rate'] / row['floor']['rate']:.2f} | {row['Rapport']['rate'] / row['pywa']['rate']:.2f} |")


def _drop_stored() -> None:
    """The bodies Rapport stored: no worker processed them, and the benches after this one share the database."""
    from chats.models import WebhookEvent

    WebhookEvent.objects.filter(processed_at__isnull=True).delete()
