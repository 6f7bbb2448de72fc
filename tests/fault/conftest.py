"""Fixtures of the worker fault tests: the worker stack, a private Redis server, and a small world.

Everything started here is killed in teardown, whatever the test's outcome.
"""
import contextlib
import os
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client
from django.utils import timezone
from kombu.exceptions import OperationalError
from tests.factories import api_token

from chats.models import Conversation
from config.celery import app as celery_app
from tests.factories import AccountFactory, PhoneNumberFactory, ThreadFactory, UserFactory
from tests.fault.stack import WORKER_APPLICATION_NAME, RedisServer, Worker, celery_broker_use
from tests.whatsapp.fake_graph import start_fake_graph


@pytest.fixture
def stack(transactional_db, settings, tmp_path):
    """Fake Graph + worker environment; kills every worker it started on the way out.

    A worker talks to the Redis this process uses when the worker starts (the shared one,
    or `private_redis`'s).
    """
    fake, server = start_fake_graph()
    settings.WHATSAPP_BACKEND = "cloud"
    settings.WHATSAPP_GRAPH_URL = fake.url
    # A worker on the cloud backend refuses the shipped secrets (config/celery.py): the suite's own.
    settings.WHATSAPP_APP_SECRET = "fault-suite-app-secret"
    celery_app.conf.task_always_eager = False  # .delay() goes to Redis; the autouse fixture restores it
    celery_app.control.purge()  # leftovers of an earlier aborted run would reference rows that are gone
    db = connection.settings_dict
    env = {
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        "PGAPPNAME": WORKER_APPLICATION_NAME,  # libpq names the worker's sessions, so a test can find them
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "WHATSAPP_BACKEND": "cloud",
        "WHATSAPP_GRAPH_URL": fake.url,
        "WHATSAPP_APP_SECRET": settings.WHATSAPP_APP_SECRET,
        "SECRET_KEY": "fault-suite-secret-key-" + "x" * 40,
        "WHATSAPP_VERIFY_TOKEN": "fault-suite-verify-token",
        "WHATSAPP_ACCESS_TOKEN": "fault-suite-access-token",
        "WHATSAPP_TIMEOUT_SECONDS": "3",
        "WHATSAPP_RATE_MAX_WAIT_SECONDS": "0.5",
        "WHATSAPP_RETRY_BASE_SECONDS": "0.2",
        # The requeue-stale-sends sweep, when a test plays the beat: 2 s overdue instead of 120 s.
        "WHATSAPP_STALE_SEND_SECONDS": "2",
        # An unacknowledged task of a killed worker comes back after this (3600 s in production).
        "CELERY_VISIBILITY_TIMEOUT_SECONDS": "2",
        # A killed drain's slot and its claimed webhook bodies are free again after this (10 s / 30 s).
        "WEBHOOK_DRAIN_SLOT_SECONDS": "2",
        "WEBHOOK_LEASE_SECONDS": "2",
    }
    workers: list[Worker] = []

    def new_worker() -> Worker:
        redis_url = django_settings.REDIS_URL
        worker = Worker(os.environ | env | {"REDIS_URL": redis_url, "CELERY_BROKER_URL": redis_url},
                        tmp_path / "worker.log")
        workers.append(worker)
        worker.start()
        return worker

    try:
        yield fake, new_worker
    finally:
        for worker in workers:
            worker.kill()
        server.shutdown()
        server.server_close()
        with contextlib.suppress(OperationalError):  # a private Redis the test left down has nothing to purge
            celery_app.control.purge()


@pytest.fixture
def private_redis(settings, tmp_path):
    """A redis-server of this test's own, which this process (broker, cache, channel layer) uses too.

    The test may kill and restart it; it is killed on the way out, and this process goes
    back to the shared Redis.
    """
    server = RedisServer(tmp_path / "redis.log")
    shared_broker = celery_app.conf.broker_url
    try:
        server.start()
        settings.REDIS_URL = server.url
        settings.CACHES = {"default": {**django_settings.CACHES["default"], "LOCATION": server.url}}
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                               "CONFIG": {"hosts": [server.url]}}}
        celery_broker_use(server.url)
        yield server
    finally:
        server.kill()
        celery_broker_use(shared_broker)


@pytest.fixture
def world():
    rep = UserFactory(username="fault.worker.rep")
    number = PhoneNumberFactory(reps=[rep])
    now = timezone.now()
    threads = []
    for _ in range(6):
        hcp = AccountFactory(team=[rep])
        Conversation.objects.create(phone_number=number, account=hcp, owner=rep, last_inbound_at=now,
                                    window_expires_at=now + timedelta(hours=24))
        threads.append(ThreadFactory(user=rep, account=hcp, phone_number=number))
    api = Client(HTTP_AUTHORIZATION=f"Token {api_token(rep)}")
    return rep, number, threads, api
