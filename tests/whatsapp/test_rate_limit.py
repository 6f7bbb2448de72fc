"""WHATSAPP_MPS held per number under a burst, as seen by the fake Graph API's own clock."""
import threading
import uuid

import pytest
from django.conf import settings as django_settings

from chats.whatsapp import ratelimit
from chats.whatsapp.backends import CloudBackend
from tests.whatsapp.fake_graph import most_in_any_window


# The limiter spaces the 1st and 6th sends of a number by its window, 1.05 s. The fake
# server stamps a request when its thread in this process gets to it: with 17 sending
# threads, PostgreSQL and Redis on a loaded 2-core CI machine, that stamp lagged by up to
# ~100 ms (seen once: 0.953 s between a 1st and a 6th). So the server's log is held to no
# more than 5 in any 0.9 s; the limiter's own arithmetic to 1.05 s is tested below with a
# clock it cannot be late on.
JITTER_ALLOWANCE_SPAN = 0.9


def _report(times):
    times = sorted(times)
    return [round(b - a, 3) for a, b in zip(times, times[5:])]


def test_a_burst_never_exceeds_mps_in_any_second(fake_graph, settings):
    # given: 5 messages per second allowed, and a fresh number id (Redis keys outlive test runs)
    settings.WHATSAPP_MPS = 5
    settings.WHATSAPP_RATE_MAX_WAIT_SECONDS = 10
    number_id = f"9{uuid.uuid4().int % 10**14:014d}"
    other_id = f"8{uuid.uuid4().int % 10**14:014d}"
    backend = CloudBackend()
    payload = {"messaging_product": "whatsapp", "to": "447700900001", "type": "text", "text": {"body": "hi"}}

    def send(pnid):
        backend.send(phone_number_id=pnid, access_token="t", payload=payload)

    # when: 12 sends for one number and 5 for another start at once from 17 threads
    threads = [threading.Thread(target=send, args=(number_id,)) for _ in range(12)]
    threads += [threading.Thread(target=send, args=(other_id,)) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    # then: every send went through, and no second of the server's log holds more than 5 for one number
    mine = [r.at for r in fake_graph.messages_posted() if f"/{number_id}/" in r.path]
    other = [r.at for r in fake_graph.messages_posted() if f"/{other_id}/" in r.path]
    assert len(mine) == 12 and len(other) == 5
    assert most_in_any_window(mine, JITTER_ALLOWANCE_SPAN) <= 5, _report(mine)
    assert max(mine) - min(mine) >= 2.0  # 12 at 5/s needs three windows
    assert max(other) - min(other) < 1.0  # another number is not slowed by this one


def test_over_the_limit_beyond_the_wait_asks_to_retry_later(settings):
    settings.WHATSAPP_RATE_MAX_WAIT_SECONDS = 0
    number_id = f"7{uuid.uuid4().int % 10**14:014d}"
    ratelimit.wait_for_slot(phone_number_id=number_id, limit=1)
    with pytest.raises(ratelimit.RateLimited) as raised:
        ratelimit.wait_for_slot(phone_number_id=number_id, limit=1)
    assert 0 < raised.value.wait <= ratelimit.WINDOW


def test_limiter_matches_the_profile():
    limiter = ratelimit.get_limiter()
    expected = ratelimit.RedisLimiter if django_settings.REDIS_URL else ratelimit.LocalLimiter
    assert isinstance(limiter, expected)


def test_pair_cooldown_is_shared_and_expires(settings):
    key = ratelimit.pair_key("1", uuid.uuid4().hex)
    limiter = ratelimit.get_limiter()
    assert limiter.cooldown_remaining(key) == 0
    limiter.set_cooldown(key, 30)
    assert 29 < limiter.cooldown_remaining(key) <= 30
    limiter.set_cooldown(key, 1)  # a shorter cool-down never shortens the current one
    assert limiter.cooldown_remaining(key) > 29


def test_the_window_spaces_the_first_and_the_sixth_send_by_1_05_seconds(monkeypatch):
    # given the in-process limiter on a clock we move by hand
    clock = [1000.0]
    monkeypatch.setattr(ratelimit.time, "monotonic", lambda: clock[0])
    limiter = ratelimit.LocalLimiter()
    # when five sends go at once, the sixth must wait the whole window
    assert [limiter.try_acquire("n", 5) for _ in range(5)] == [0.0] * 5
    assert limiter.try_acquire("n", 5) == pytest.approx(ratelimit.WINDOW)
    clock[0] += 1.04
    assert limiter.try_acquire("n", 5) == pytest.approx(0.01)
    # then just past the window the next five go, and one more waits a whole window again
    clock[0] += 0.011
    assert [limiter.try_acquire("n", 5) for _ in range(5)] == [0.0] * 5
    assert limiter.try_acquire("n", 5) == pytest.approx(ratelimit.WINDOW)
