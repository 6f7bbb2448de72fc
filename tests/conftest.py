import pytest

from config.celery import app as celery_app


@pytest.fixture(autouse=True)
def _eager_celery():
    """Tasks run in process during tests, on both profiles, unless a test starts a worker."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _fresh_webhook_state():
    """Each test starts with no drain holding a slot and re-reads the WABAs' secrets, the consent keywords,
    whether webhooks are subscribed and the safety lexicon."""
    from django.core.cache import cache

    from chats.ingress.queue import drain_slots_free
    from chats.ingress.receive import forget_secrets
    from chats.integration.feed import FAN_OUT_SCHEDULED, forget_subscriptions
    from chats.safety.lexicon import clear_lexicon_cache
    from consent.services import forget_keywords

    drain_slots_free()
    forget_secrets()
    forget_keywords()
    forget_subscriptions()
    clear_lexicon_cache()
    cache.delete(FAN_OUT_SCHEDULED)


@pytest.fixture(autouse=True)
def _no_rate_limits_across_tests(settings):
    """Every test signs in and sends from 127.0.0.1 with reused ids, and the counts live in a cache
    that outlives a test: limits are off unless a test sets its own (tests/api/test_rate_limits.py)."""
    settings.API_THROTTLE_RATES = {}
    settings.LOGIN_MAX_FAILURES_PER_IP = 10_000


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """PBKDF2's deliberate slowness is not under test (and would dominate the suite's time)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _sandbox_statuses_at_once(settings):
    """The sandbox plays sent/delivered/read at once in tests; browser tests run a real server with pacing."""
    settings.WHATSAPP_SANDBOX_PACED = False


@pytest.fixture
def published():
    """Every live event delivered after commit, one call (user id, event type, payload) each, in order."""
    from unittest import mock

    send = mock.Mock()
    with mock.patch("chats.realtime.events._send_all", side_effect=lambda events: [send(*event) for event in events]):
        yield send


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Inbound media files and the sandbox's media store live in the test's own folder."""
    settings.STORAGES = {**settings.STORAGES, "inbound_media": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path / "media")}}}
    settings.WHATSAPP_SANDBOX_MEDIA_DIR = tmp_path / "sandbox-media"


@pytest.fixture(autouse=True)
def _fresh_database_pool_after_committing_tests(request):
    """On PostgreSQL the test process keeps its sessions in a pool (config/settings.py). Some tests terminate
    sessions (the fault suite drops "every other session" of the database, this process's idle pooled ones
    included) or leave them used by threads: the next test never draws a dead session. After a committing
    test the pool is new; after another, its idle sessions are checked and the dead ones replaced."""
    yield
    marker = request.node.get_closest_marker("django_db")
    committing = "transactional_db" in request.fixturenames or (
        marker is not None and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])))
    from django.db import connection

    if connection.vendor != "postgresql" or connection.pool is None:
        return
    if committing:
        connection.close()
        connection.close_pool()
    else:  # sessions a test terminated (the web fault tests drop every other session): out of the pool
        connection.pool.check()

