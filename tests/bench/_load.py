"""An open-loop HTTP/1.1 load generator on raw asyncio streams (cheap enough to leave the
2 cores to the server): requests are scheduled at a fixed rate, whatever the answers do,
and each latency is measured from the request's scheduled time, so a server that falls
behind shows it in the percentiles (no coordinated omission)."""
from __future__ import annotations

import asyncio
import gc
import time
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class StepResult:
    offered_rate: float
    seconds: float
    sent: int = 0
    ok: int = 0
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    error_kinds: Counter = field(default_factory=Counter)  # "HTTP 503", "TimeoutError", ...: what the errors were

    @property
    def acked_rate(self) -> float:
        return self.ok / self.seconds


def build_request(path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}",
             "Content-Type: application/json"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    if length:
        await reader.readexactly(length)
    return status


# A connection idle this long is closed rather than reused: uvicorn closes keep-alive connections
# after 5 s idle, and a request written into one it is closing fails (as any HTTP client knows).
IDLE_EXPIRY_SECONDS = 4.0


class Pool:
    """Keep-alive connections, opened on demand up to `limit`."""

    def __init__(self, port: int, limit: int = 256):
        self.port, self.limit, self.idle, self.open = port, limit, [], 0
        self.available = asyncio.Condition()

    async def acquire(self):
        async with self.available:
            while not self.idle and self.open >= self.limit:
                await self.available.wait()
            while self.idle:
                conn, released_at = self.idle.pop()
                if time.monotonic() - released_at < IDLE_EXPIRY_SECONDS:
                    return conn
                conn[1].close()
                self.open -= 1
            self.open += 1
        return await asyncio.open_connection("127.0.0.1", self.port)

    async def release(self, conn, broken: bool = False):
        async with self.available:
            if broken:
                self.open -= 1
                conn[1].close()
            else:
                self.idle.append((conn, time.monotonic()))
            self.available.notify()

    async def close(self):
        for (_, writer), _ in self.idle:
            writer.close()
        self.idle, self.open = [], 0


async def _one(pool: Pool, payload: bytes, scheduled: float, result: StepResult, on_ok=None):
    conn = await pool.acquire()
    try:
        conn[1].write(payload)
        status = await asyncio.wait_for(_read_response(conn[0]), timeout=10)
    except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError) as exc:
        result.errors += 1
        result.error_kinds[type(exc).__name__] += 1
        await pool.release(conn, broken=True)
        return
    await pool.release(conn)
    if status == 200:
        result.ok += 1
        result.latencies_ms.append((time.perf_counter() - scheduled) * 1000)
        if on_ok:
            on_ok()
    else:
        result.errors += 1
        result.error_kinds[f"HTTP {status}"] += 1


async def run_step(port: int, payloads, rate: float, seconds: float, on_ok=None) -> StepResult:
    """Send `rate * seconds` requests from `payloads` (an iterator of raw requests) at `rate` per second.

    The generator's own garbage collector is off during the step: its full passes would pause
    this process for tens of ms and show up as the server's latency.
    """
    gc.collect()
    gc.disable()
    try:
        return await _run_step(port, payloads, rate, seconds, on_ok)
    finally:
        gc.enable()


async def _run_step(port: int, payloads, rate: float, seconds: float, on_ok) -> StepResult:
    pool = Pool(port)
    result = StepResult(rate, seconds)
    total = int(rate * seconds)
    tasks = []
    start = time.perf_counter()
    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(_one(pool, next(payloads), scheduled, result, on_ok)))
        result.sent += 1
    await asyncio.gather(*tasks)
    result.seconds = max(seconds, time.perf_counter() - start)
    await pool.close()
    return result
