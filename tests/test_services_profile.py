"""Proof that the services profile really uses PostgreSQL and Redis.

Skipped on the embedded default; in CI the services run sets
RAPPORT_REQUIRE_SERVICES=1, which turns a skip into a failure.
"""
import os
import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection

from chats.models import Account

SERVICES = bool(os.environ.get("DATABASE_URL", "").startswith("postgres") and os.environ.get("REDIS_URL"))


@pytest.fixture(autouse=True)
def _needs_services():
    if not SERVICES:
        if os.environ.get("RAPPORT_REQUIRE_SERVICES"):
            pytest.fail("RAPPORT_REQUIRE_SERVICES is set but DATABASE_URL/REDIS_URL do not name PostgreSQL and Redis")
        pytest.skip("services profile only (set DATABASE_URL=postgres://... and REDIS_URL)")


@pytest.mark.services
@pytest.mark.django_db
def test_database_is_postgresql_and_enforces_the_append_only_trigger():
    # given the services profile
    # then the ORM talks to PostgreSQL
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        assert cursor.fetchone()[0].startswith("PostgreSQL")
        # and the append-only trigger is installed on the audit table
        cursor.execute("SELECT count(*) FROM pg_trigger WHERE tgname = 'chats_auditevent_append_only_trigger'")
        assert cursor.fetchone()[0] == 1
    # and a row written through the ORM is visible to raw SQL in the same database
    Account.objects.create(name="Dr. Proof", whatsapp_number="+447700900999")
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM chats_account WHERE whatsapp_number = %s", ["+447700900999"])
        assert cursor.fetchone() == ("Dr. Proof",)


@pytest.mark.services
def test_channel_layer_round_trips_through_redis():
    layer = get_channel_layer()
    assert type(layer).__module__.startswith("channels_redis")

    async def round_trip():
        channel = await layer.new_channel()
        group = f"proof.{uuid.uuid4().hex}"
        await layer.group_add(group, channel)
        await layer.group_send(group, {"type": "proof.message", "nonce": group})
        received = await layer.receive(channel)
        await layer.group_discard(group, channel)
        return received

    assert async_to_sync(round_trip)()["nonce"].startswith("proof.")


@pytest.mark.services
def test_celery_broker_is_redis_and_reachable():
    import redis

    from config.celery import app

    assert settings.CELERY_BROKER_URL.startswith("redis://")
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=3)
        assert conn.transport.driver_type == "redis"
    client = redis.Redis.from_url(settings.REDIS_URL)
    key = f"rapport:proof:{uuid.uuid4().hex}"
    client.set(key, "1", ex=10)
    assert client.get(key) == b"1"
    client.delete(key)


@pytest.mark.services
def test_a_socket_that_falls_behind_keeps_more_than_channels_redis_default_of_100():
    # given a channel (one rep's socket) that reads nothing for a while, on a layer of its own:
    # channels_redis keeps one receive lock per process, bound to the event loop that first
    # waited on it, and earlier tests' loops are gone (the settings' capacity still applies)
    from channels.layers import DEFAULT_CHANNEL_LAYER, channel_layers

    layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)

    async def burst_then_read(count):
        channel = await layer.new_channel()
        group = f"burst.{uuid.uuid4().hex}"
        await layer.group_add(group, channel)
        for n in range(count):  # when a burst of group messages arrives meanwhile
            await layer.group_send(group, {"type": "chat.events", "n": n})
        received = [(await layer.receive(channel))["n"] for _ in range(count)]
        await layer.group_discard(group, channel)
        await layer.close_pools()
        return received

    # then every one of them is still there, in order, when it reads again
    assert async_to_sync(burst_then_read)(250) == list(range(250))


@pytest.mark.services
@pytest.mark.django_db
def test_statements_run_often_are_prepared_by_postgresql():
    # given a session that runs the same lookup more often than DATABASE_PREPARE_THRESHOLD
    for _ in range(settings.DATABASES["default"]["OPTIONS"]["prepare_threshold"] + 1):
        list(Account.objects.filter(whatsapp_number="+447700900998"))
    # then PostgreSQL holds it prepared in this session, so it is no longer planned at every run
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any('FROM "chats_account"' in statement for statement in prepared), prepared
