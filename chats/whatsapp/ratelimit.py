"""Send rates shared by every worker: messages per second per business number, and pair cool-downs.

A sliding-window log: a send is allowed when fewer than `limit` sends of the
same number happened in the last WINDOW seconds. Unlike a fixed window or a
token bucket, no stretch of one second can ever hold more than `limit` sends.
WINDOW is a little over one second so that network jitter between us and Meta
cannot squeeze `limit + 1` requests into one of Meta's seconds.

Services profile (REDIS_URL set): one Redis sorted set per number, checked and
updated by one Lua script using Redis's own clock, so all workers share it. While
Redis cannot be reached (restarting, connections dropped) no send is allowed:
LimiterUnavailable, a RateLimited, makes it wait and retry rather than go unmetered.
Embedded default: the same algorithm in process, under a lock.
"""
from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict, deque
from functools import lru_cache

from django.conf import settings

WINDOW = 1.05

_ACQUIRE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.floor(window / 1000) + 1000)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
"""


class RateLimited(Exception):
    reason = "business number at its WHATSAPP_MPS rate"

    def __init__(self, wait: float):
        super().__init__(f"rate limited for {wait:.2f}s")
        self.wait = wait


class LimiterUnavailable(RateLimited):
    """Redis did not answer (restarting, connections dropped): no send may go until it does.

    A RateLimited, so a hand-off that meets it before its request leaves is released and
    retried like any rate wait (chats/delivery/handoff.py), instead of being left claimed.
    """

    reason = "the shared rate limiter (Redis) could not be reached"


UNAVAILABLE_RETRY_SECONDS = 2.0  # a send meeting it retries this often, up to WHATSAPP_SEND_MAX_DEFERRALS times


class LocalLimiter:
    def __init__(self):
        self._lock = threading.Lock()
        self._sends: dict[str, deque] = defaultdict(deque)
        self._cooldowns: dict[str, float] = {}

    def try_acquire(self, key: str, limit: int) -> float:
        """0 when a send may go now (and it is counted), else the seconds to wait."""
        with self._lock:
            now = time.monotonic()
            log = self._sends[key]
            while log and log[0] <= now - WINDOW:
                log.popleft()
            if len(log) < limit:
                log.append(now)
                return 0.0
            return max(0.001, log[0] + WINDOW - now)

    def cooldown_remaining(self, key: str) -> float:
        with self._lock:
            return max(0.0, self._cooldowns.get(key, 0.0) - time.monotonic())

    def set_cooldown(self, key: str, seconds: float) -> None:
        with self._lock:
            self._cooldowns[key] = max(self._cooldowns.get(key, 0.0), time.monotonic() + seconds)


class RedisLimiter:
    def __init__(self, url: str):
        import redis

        self.redis = redis.Redis.from_url(url)
        self._acquire = self.redis.register_script(_ACQUIRE_LUA)
        self._unreachable = (redis.ConnectionError, redis.TimeoutError)

    def try_acquire(self, key: str, limit: int) -> float:
        try:
            waited_us = self._acquire(keys=[f"rapport:wa:mps:{key}"],
                                      args=[limit, int(WINDOW * 1_000_000), uuid.uuid4().hex])
        except self._unreachable as exc:
            raise LimiterUnavailable(UNAVAILABLE_RETRY_SECONDS) from exc
        return int(waited_us) / 1_000_000

    def cooldown_remaining(self, key: str) -> float:
        try:
            ttl_ms = self.redis.pttl(f"rapport:wa:cool:{key}")
        except self._unreachable as exc:
            raise LimiterUnavailable(UNAVAILABLE_RETRY_SECONDS) from exc
        return max(0, ttl_ms) / 1000

    def set_cooldown(self, key: str, seconds: float) -> None:
        # keeps the later of an existing and the new cool-down
        name = f"rapport:wa:cool:{key}"
        if self.redis.pttl(name) < seconds * 1000:
            self.redis.set(name, 1, px=max(1, int(seconds * 1000)))


@lru_cache(maxsize=4)
def _limiter_for(redis_url: str):
    return RedisLimiter(redis_url) if redis_url else LocalLimiter()


def get_limiter():
    return _limiter_for(settings.REDIS_URL)


def wait_for_slot(*, phone_number_id: str, limit: int | None = None, max_wait: float | None = None) -> None:
    """Block until this number may send (counting the send), or raise RateLimited when that is too far off."""
    limiter = get_limiter()
    limit = limit or settings.WHATSAPP_MPS
    max_wait = settings.WHATSAPP_RATE_MAX_WAIT_SECONDS if max_wait is None else max_wait
    deadline = time.monotonic() + max_wait
    while True:
        wait = limiter.try_acquire(phone_number_id, limit)
        if wait == 0:
            return
        if time.monotonic() + wait > deadline:
            raise RateLimited(wait)
        time.sleep(wait)


def pair_key(phone_number_id: str, wa_id: str) -> str:
    return f"{phone_number_id}:{wa_id}"
