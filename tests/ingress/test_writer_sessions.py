"""The webhook writer keeps its database session from batch to batch (chats/db_session.py): on
PostgreSQL through the pool that is on by default, without a pool by keeping the one it has."""
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import psycopg
import pytest
from django.db import connection
from django.db.backends.signals import connection_created

from chats.ingress import ack
from chats.ingress.ack import WebhookAck
from chats.models import WebhookEvent
from tests.ingress.test_webhook_ack import URL, RecordingFallback, body_for, run, signed

ROOT = Path(__file__).resolve().parents[2]
SERVICES = bool(os.environ.get("DATABASE_URL", "").startswith("postgres") and os.environ.get("REDIS_URL"))
BATCHES = 12


def _pool_option(**env_overrides) -> str:
    """OPTIONS["pool"] of the default database as a fresh process reads the environment."""
    code = ("import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'; django.setup(); "
            "from django.conf import settings; print(settings.DATABASES['default'].get('OPTIONS', {}).get('pool'))")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DATABASE_POOL_SIZE", "HTTP_THREADS")}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env | env_overrides, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_pool_is_on_by_default_on_postgresql_sized_from_the_http_threads():
    postgres = {"DATABASE_URL": "postgres://rapport@127.0.0.1:5432/rapport"}  # settings only: nothing connects
    # given a PostgreSQL database and nothing else said: HTTP_THREADS (10), the writer and the sockets' thread
    assert _pool_option(**postgres) == "{'min_size': 1, 'max_size': 12, 'timeout': 10.0}"
    # it follows HTTP_THREADS, an explicit size wins, and 0 turns it off
    assert _pool_option(**postgres, HTTP_THREADS="4") == "{'min_size': 1, 'max_size': 6, 'timeout': 10.0}"
    assert _pool_option(**postgres, DATABASE_POOL_SIZE="30") == "{'min_size': 1, 'max_size': 30, 'timeout': 10.0}"
    assert _pool_option(**postgres, DATABASE_POOL_SIZE="0") == "None"
    # SQLite has no pool
    assert _pool_option() == "None"


@contextmanager
def _writer_batches():
    """Each batch the writer stores, with the PostgreSQL backend (or SQLite connection) it used."""
    sessions, real = [], ack.webhook_receive_many

    def recording(*, deliveries):
        outcomes = real(deliveries=deliveries)
        sessions.append(_backend_pid() if connection.vendor == "postgresql" else id(connection.connection))
        return outcomes

    with mock.patch("chats.ingress.ack.webhook_receive_many", recording):
        yield sessions


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _post_one_at_a_time(app, count: int) -> None:
    for n in range(count):
        body = body_for(9000 + n)
        [response] = run(app, ("POST", URL, {"content": body, "headers": signed(body)}))
        assert response.status_code == 200


def _in_writer(app, task):
    """Run `task` on the writer's own thread (its database session lives there)."""
    return app.writer._executor.submit(task).result(timeout=30)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_without_a_pool_the_writer_keeps_its_session_from_batch_to_batch():
    if not SERVICES:
        pytest.skip("services profile only")
    app = WebhookAck(RecordingFallback())

    def without_pool():  # DATABASE_POOL_SIZE=0, for the writer's thread only
        options = {k: v for k, v in connection.settings_dict["OPTIONS"].items() if k != "pool"}
        connection.settings_dict = {**connection.settings_dict, "OPTIONS": options, "CONN_MAX_AGE": 0}

    _in_writer(app, without_pool)
    opened = []
    connection_created.connect(lambda sender, connection, **_: opened.append(connection), weak=False,
                               dispatch_uid="writer-sessions")
    try:
        # given webhooks acknowledged one at a time: each is a batch of its own
        with mock.patch("chats.ingress.receive.drain_request"), _writer_batches() as sessions:
            _post_one_at_a_time(app, BATCHES)
    finally:
        connection_created.disconnect(dispatch_uid="writer-sessions")
        _in_writer(app, lambda: connection.close())
    # then every batch was stored, all on the one PostgreSQL session the first batch opened
    assert WebhookEvent.objects.count() == BATCHES
    assert len(sessions) == BATCHES and len(set(sessions)) == 1, sessions
    assert len(opened) == 1


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_the_writer_draws_its_batches_sessions_from_the_pool():
    if not SERVICES:
        pytest.skip("services profile only")
    assert connection.settings_dict["OPTIONS"]["pool"]["max_size"] >= 2  # on by default
    app = WebhookAck(RecordingFallback())
    with mock.patch("chats.ingress.receive.drain_request"):
        _post_one_at_a_time(app, 1)  # the writer's first batch opens its session
        before = _backends()
        real_connect, connects = psycopg.Connection.connect, []

        def counting(*args, **kwargs):
            connects.append(1)
            return real_connect(*args, **kwargs)

        # when more webhooks come one at a time, each a batch of its own
        with mock.patch.object(psycopg.Connection, "connect", side_effect=counting), _writer_batches() as sessions:
            _post_one_at_a_time(app, BATCHES)
    # then no batch opened a PostgreSQL session: they all ran on sessions the pool held before them
    assert WebhookEvent.objects.count() == BATCHES + 1
    assert len(sessions) == BATCHES and connects == []
    assert set(sessions) <= before, (sessions, before)


def _backends() -> set[int]:
    """The PostgreSQL sessions open on this database now."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        return {pid for (pid,) in cursor.fetchall()}
