"""The `/ws/chat/` consumer: who may connect, what reaches whom, and when.

Runs against `config.asgi.application`, so the origin check, the session
middleware and the routing are the real ones. Events are published the one
way the product publishes them: `publish_on_commit` inside a transaction.
Where a test must show that something did NOT arrive, it then publishes a
marker to the same socket and checks that the marker is the next frame: the
layer keeps per-channel order, so nothing is left to a timeout.
"""
import json
import os
import subprocess
import sys
from datetime import datetime, timezone as dt_timezone
from pathlib import Path

import pytest

from tests.realtime.helpers import flush_channel_layer
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import channel_layers, get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import transaction
from django.test import Client
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from tests.factories import api_token

from chats.realtime.consumer import ChatConsumer
from chats.realtime.events import publish_on_commit, user_group
from config.asgi import application
from tests.factories import AccountFactory, PhoneNumberFactory, ThreadFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://testserver")
SERVICES = bool(os.environ.get("DATABASE_URL", "").startswith("postgres") and os.environ.get("REDIS_URL"))


@pytest.fixture(autouse=True)
def _fresh_channel_layer():
    # A layer of its own for each test: channels-redis binds its receive locks to the event loop that first
    # used them, and an earlier test's loop (any test file's) must not hold one this test's sockets need.
    channel_layers.backends.pop(DEFAULT_CHANNEL_LAYER, None)
    yield
    # Groups and queued frames must not leak from one test into the next.
    flush_channel_layer()


@pytest.fixture
def shared():
    """Two licensed reps on one shared number, each with a thread with the same HCP."""
    alex, blair = UserFactory(username="ws.alex"), UserFactory(username="ws.blair")
    number = PhoneNumberFactory(reps=[alex, blair])
    ada = AccountFactory(name="Dr. Ada Lovelace", team=[alex, blair])
    return {
        "alex": alex,
        "blair": blair,
        "alex_thread": ThreadFactory(user=alex, account=ada, phone_number=number),
        "blair_thread": ThreadFactory(user=blair, account=ada, phone_number=number),
    }


def run(scenario):
    return async_to_sync(scenario)()


def socket(*, headers=(), subprotocols=None, origin=ORIGIN):
    """A handshake as a browser makes it (with `origin`), or as a program does (origin=None: no header)."""
    sent = [origin, *headers] if origin is not None else list(headers)
    return WebsocketCommunicator(application, "/ws/chat/", headers=sent, subprotocols=subprotocols)


def session_cookie(user) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    return [(b"cookie", f"{name}={client.cookies[name].value}".encode())]


def token_for(user) -> str:
    return api_token(user)


@database_sync_to_async
def publish(user_id, event_type, payload, *, rollback=False):
    """Publish inside a transaction, as a service would; `rollback` aborts it."""
    try:
        with transaction.atomic():
            publish_on_commit(user_id, event_type, payload)
            if rollback:
                raise RuntimeError("the use case failed")
    except RuntimeError:
        pass


async def open_for(user, **kwargs):
    """A session-authenticated socket for `user`, past its hello."""
    ws = socket(headers=await database_sync_to_async(session_cookie)(user), **kwargs)
    connected, _ = await ws.connect()
    assert connected
    hello = await ws.receive_json_from()
    assert hello["type"] == "hello" and hello["user"] == user.pk
    return ws


async def assert_closed_with(ws, code):
    frame = await ws.receive_output()
    assert frame == {"type": "websocket.close", "code": code}


# --- authentication ----------------------------------------------------------------


def test_session_user_connects_and_is_greeted_with_the_server_time(shared):
    # given Alex signed in through the web (session cookie)
    alex = shared["alex"]
    cookie = session_cookie(alex)

    async def scenario():
        ws = socket(headers=cookie)
        before = timezone.now()
        # when the page opens the socket
        connected, subprotocol = await ws.connect()
        hello = await ws.receive_json_from()
        after = timezone.now()
        # then it is accepted and the first frame says who and since when
        assert connected and subprotocol is None
        assert set(hello) == {"type", "user", "server_time"}
        assert hello["type"] == "hello" and hello["user"] == alex.pk
        assert before <= parse_datetime(hello["server_time"]) <= after
        await ws.disconnect()

    run(scenario)


def test_token_in_subprotocol_authenticates_and_only_rapport_v1_is_echoed(shared):
    alex = shared["alex"]
    key = token_for(alex)

    async def scenario():
        # given an API client offering its token as a subprotocol, no cookie
        ws = socket(subprotocols=["rapport.v1", f"token.{key}"])
        # when it connects
        connected, subprotocol = await ws.connect()
        # then the token is accepted and never echoed back
        assert connected
        assert subprotocol == "rapport.v1"
        hello = await ws.receive_json_from()
        assert hello["type"] == "hello" and hello["user"] == alex.pk
        await ws.disconnect()

    run(scenario)


def test_token_as_first_message_authenticates(shared):
    alex = shared["alex"]
    key = token_for(alex)

    async def scenario():
        # given a client with no cookie and no token subprotocol
        ws = socket(subprotocols=["rapport.v1"])
        connected, subprotocol = await ws.connect()
        assert connected and subprotocol == "rapport.v1"
        # when its first message is the token
        await ws.send_json_to({"type": "auth", "token": key})
        # then it is greeted as Alex and receives Alex's events
        hello = await ws.receive_json_from()
        assert hello["type"] == "hello" and hello["user"] == alex.pk
        await publish(alex.pk, "message.status", {"thread": shared["alex_thread"].pk, "message": {"id": 1}})
        assert (await ws.receive_json_from())["type"] == "message.status"
        await ws.disconnect()

    run(scenario)


def test_no_credentials_and_a_first_message_that_is_not_auth_closes_4401():
    async def scenario():
        ws = socket()
        connected, _ = await ws.connect()
        assert connected  # accepted, so that the client can read the close code
        await ws.send_json_to({"type": "ping"})
        await assert_closed_with(ws, 4401)

    run(scenario)


def test_no_credentials_within_the_auth_timeout_closes_4401(monkeypatch):
    # given a short deadline for the auth message
    monkeypatch.setattr(ChatConsumer, "auth_timeout", 0.05)

    async def scenario():
        ws = socket()
        connected, _ = await ws.connect()
        assert connected
        # when the client says nothing, then the server closes with 4401
        await assert_closed_with(ws, 4401)

    run(scenario)


@pytest.mark.parametrize("via", ["subprotocol", "message"])
def test_wrong_token_closes_4401(shared, via):
    token_for(shared["alex"])

    async def scenario():
        if via == "subprotocol":
            ws = socket(subprotocols=["rapport.v1", "token.0123456789abcdef0123456789abcdef01234567"])
            connected, _ = await ws.connect()
        else:
            ws = socket()
            connected, _ = await ws.connect()
            await ws.send_json_to({"type": "auth", "token": "not-a-token"})
        assert connected
        await assert_closed_with(ws, 4401)

    run(scenario)


@pytest.mark.parametrize(
    "frame",
    [
        {"text_data": json.dumps({"type": "auth", "token": {"key": ["nested"]}})},
        {"text_data": json.dumps({"type": "auth"})},
        {"text_data": "{not json"},
        {"text_data": "[\"auth\"]"},
        {"bytes_data": b"token"},
    ],
)
def test_malformed_first_message_closes_4401(frame):
    async def scenario():
        ws = socket()
        await ws.connect()
        await ws.send_to(**frame)
        await assert_closed_with(ws, 4401)

    run(scenario)


def test_token_of_an_inactive_user_closes_4401(shared):
    alex = shared["alex"]
    key = token_for(alex)
    alex.is_active = False
    alex.save(update_fields=["is_active"])

    async def scenario():
        ws = socket(subprotocols=["rapport.v1", f"token.{key}"])
        await ws.connect()
        await assert_closed_with(ws, 4401)

    run(scenario)


@pytest.mark.parametrize("via", ["session", "subprotocol", "message"])
def test_user_without_the_engage_license_closes_4403(via):
    # given a signed-in rep without the license
    drew = UserFactory(username="ws.drew", licensed=False)
    key = token_for(drew)
    cookie = session_cookie(drew)

    async def scenario():
        if via == "session":
            ws = socket(headers=cookie)
        elif via == "subprotocol":
            ws = socket(subprotocols=["rapport.v1", f"token.{key}"])
        else:
            ws = socket()
        connected, _ = await ws.connect()
        assert connected
        if via == "message":
            await ws.send_json_to({"type": "auth", "token": key})
        # then the socket closes with 4403 and no hello
        await assert_closed_with(ws, 4403)

    run(scenario)


def test_a_program_without_an_origin_connects_with_its_token(shared):
    alex = shared["alex"]
    key = token_for(alex)

    async def scenario():
        # given a program (no Origin header, as Python's websockets sends) offering its token
        ws = socket(subprotocols=["rapport.v1", f"token.{key}"], origin=None)
        connected, subprotocol = await ws.connect()
        # then it is in, as the token's user
        assert connected and subprotocol == "rapport.v1"
        hello = await ws.receive_json_from()
        assert hello["type"] == "hello" and hello["user"] == alex.pk
        await ws.disconnect()
        # and by the first message too
        ws = socket(subprotocols=["rapport.v1"], origin=None)
        connected, _ = await ws.connect()
        assert connected
        await ws.send_json_to({"type": "auth", "token": key})
        assert (await ws.receive_json_from())["type"] == "hello"
        await ws.disconnect()

    run(scenario)


def test_without_an_origin_a_session_cookie_does_not_authenticate(shared):
    cookie = session_cookie(shared["alex"])

    async def scenario():
        # given a handshake with Alex's cookie but no Origin: whatever sent it, it is no page of ours
        ws = socket(headers=cookie, origin=None, subprotocols=["rapport.v1"])
        connected, _ = await ws.connect()
        # then it must still authenticate by token: a wrong first message closes it 4401
        assert connected
        await ws.send_json_to({"type": "auth", "token": "not-a-token"})
        await assert_closed_with(ws, 4401)

    run(scenario)


def test_socket_from_a_foreign_origin_is_refused(shared):
    cookie = session_cookie(shared["alex"])

    async def scenario():
        # given a page on another site trying to ride Alex's session cookie
        ws = socket(headers=cookie, origin=(b"origin", b"https://evil.example"))
        connected, _ = await ws.connect()
        # then the handshake is refused
        assert not connected

    run(scenario)


# --- events ------------------------------------------------------------------------


EVENTS = [
    ("message.created", {"thread": 0, "message": {"id": 7, "body": "Hello Dr. Lovelace", "status": "queued"}}),
    ("message.status", {"thread": 0, "message": {"id": 7, "status": "read", "read_at": "2025-01-01T10:00:00+00:00"}}),
    ("thread.state", {"thread": 0, "state": {"window": {"status": "open", "expires_at": "2025-01-02T10:00:00+00:00"}}}),
    ("consent.changed", {"thread": 0, "account": 3, "consent": "opted_out"}),
]


@pytest.mark.parametrize("event_type, payload", EVENTS, ids=[event for event, _ in EVENTS])
def test_every_event_type_published_after_commit_arrives_unchanged(shared, event_type, payload):
    alex, thread = shared["alex"], shared["alex_thread"]
    payload = {**payload, "thread": thread.pk}

    async def scenario():
        ws = await open_for(alex)
        # when a service publishes the event and its transaction commits
        await publish(alex.pk, event_type, payload)
        # then the socket receives exactly the event, type first-class, payload unchanged
        assert await ws.receive_json_from() == {"type": event_type, **payload}
        await ws.disconnect()

    run(scenario)


def test_nothing_arrives_when_the_transaction_rolls_back(shared):
    alex, thread = shared["alex"], shared["alex_thread"]

    async def scenario():
        ws = await open_for(alex)
        # when a use case publishes and then fails
        await publish(alex.pk, "message.created", {"thread": thread.pk, "message": {"id": 1}}, rollback=True)
        # and a later one commits
        await publish(alex.pk, "message.created", {"thread": thread.pk, "message": {"id": 2}})
        # then only the committed event is ever seen
        received = await ws.receive_json_from()
        assert received["message"] == {"id": 2}
        assert await ws.receive_nothing(timeout=0.05)
        await ws.disconnect()

    run(scenario)


def test_reps_sharing_a_number_only_receive_events_of_their_own_threads(shared):
    alex, blair = shared["alex"], shared["blair"]
    alex_thread, blair_thread = shared["alex_thread"], shared["blair_thread"]
    assert alex_thread.phone_number_id == blair_thread.phone_number_id
    assert alex_thread.account_id == blair_thread.account_id

    async def scenario():
        # given both reps of the shared number online, one by session and one by token
        alex_ws = await open_for(alex)
        blair_ws = socket(subprotocols=["rapport.v1", f"token.{await database_sync_to_async(token_for)(blair)}"])
        assert (await blair_ws.connect())[0]
        assert (await blair_ws.receive_json_from())["type"] == "hello"
        # when the HCP's answer lands in Alex's thread
        answer = {"thread": alex_thread.pk, "message": {"id": 11, "body": "Yes, please", "direction": "inbound"}}
        await publish(alex_thread.user_id, "message.created", answer)
        await publish(alex_thread.user_id, "thread.state", {"thread": alex_thread.pk, "state": {"window": "open"}})
        # and then something happens in Blair's own thread
        marker = {"thread": blair_thread.pk, "state": {"pending_template_by_other": True}}
        await publish(blair_thread.user_id, "thread.state", marker)
        # then Alex got both of Alex's events
        assert await alex_ws.receive_json_from() == {"type": "message.created", **answer}
        assert (await alex_ws.receive_json_from())["thread"] == alex_thread.pk
        # and Blair's first frame is Blair's own event: Alex's never reached Blair's socket
        assert await blair_ws.receive_json_from() == {"type": "thread.state", **marker}
        assert await blair_ws.receive_nothing(timeout=0.05)
        assert await alex_ws.receive_nothing(timeout=0.05)
        await alex_ws.disconnect()
        await blair_ws.disconnect()

    run(scenario)


def test_every_socket_of_the_same_user_receives_the_event(shared):
    alex, thread = shared["alex"], shared["alex_thread"]

    async def scenario():
        # given Alex on the iPhone and the iPad
        phone, tablet = await open_for(alex), await open_for(alex)
        await publish(alex.pk, "message.status", {"thread": thread.pk, "message": {"id": 5, "status": "delivered"}})
        assert (await phone.receive_json_from())["message"]["status"] == "delivered"
        assert (await tablet.receive_json_from())["message"]["status"] == "delivered"
        await phone.disconnect()
        await tablet.disconnect()

    run(scenario)


def test_a_closed_socket_leaves_the_group(shared, monkeypatch):
    alex = shared["alex"]
    layer = get_channel_layer()
    joined, left = [], []
    real_add, real_discard = layer.group_add, layer.group_discard

    async def spy_add(group, channel):
        joined.append((group, channel))
        await real_add(group, channel)

    async def spy_discard(group, channel):
        left.append((group, channel))
        await real_discard(group, channel)

    monkeypatch.setattr(layer, "group_add", spy_add)
    monkeypatch.setattr(layer, "group_discard", spy_discard)

    async def scenario():
        # given Alex's socket joined Alex's group
        ws = await open_for(alex)
        assert joined == [(user_group(alex.pk), joined[0][1])]
        # when it closes
        await ws.disconnect()
        # then the same channel left the same group
        assert left == joined

    run(scenario)


# --- client messages ---------------------------------------------------------------


def test_ping_is_answered_with_pong(shared):
    async def scenario():
        ws = await open_for(shared["alex"])
        await ws.send_json_to({"type": "ping"})
        assert await ws.receive_json_from() == {"type": "pong"}
        await ws.disconnect()

    run(scenario)


@pytest.mark.parametrize(
    "frame, code",
    [
        ({"text_data": "{not json"}, "bad_request"),
        ({"text_data": "[1, 2]"}, "bad_request"),
        ({"bytes_data": b"\x00\x01"}, "bad_request"),
        ({"text_data": json.dumps({"type": "subscribe", "thread": 1})}, "unknown_type"),
        ({"text_data": json.dumps({"type": "auth", "token": "x"})}, "already_authenticated"),
    ],
)
def test_malformed_or_unknown_client_messages_get_an_error_frame_and_the_socket_stays(shared, frame, code):
    async def scenario():
        ws = await open_for(shared["alex"])
        if "bytes_data" in frame:
            await ws.send_to(bytes_data=frame["bytes_data"])
        else:
            await ws.send_to(text_data=frame["text_data"])
        error = await ws.receive_json_from()
        assert error["type"] == "error" and error["code"] == code and error["detail"]
        # the socket still works
        await ws.send_json_to({"type": "ping"})
        assert await ws.receive_json_from() == {"type": "pong"}
        await ws.disconnect()

    run(scenario)


# --- services profile: events cross processes through Redis ------------------------


@pytest.mark.services
@pytest.mark.skipif(not SERVICES, reason="services profile only (PostgreSQL and Redis)")
def test_event_published_in_another_process_reaches_the_socket_through_redis(shared):
    alex, thread = shared["alex"], shared["alex_thread"]
    assert type(get_channel_layer()).__module__.startswith("channels_redis")
    # The channel-layer half of publish_on_commit (the other half writes the change feed, to a database
    # this process does not share).
    publisher = (
        "import django; django.setup()\n"
        "from chats.realtime.events import _send_all\n"
        f"_send_all([({alex.pk}, 'message.created', {{'thread': {thread.pk}, 'message': {{'id': 99}}}})])\n"
    )
    # The publishing process (think: a Celery worker) shares only Redis with this one.
    env = {**os.environ, "DATABASE_URL": "sqlite:///:memory:", "DJANGO_SETTINGS_MODULE": "config.settings"}

    async def scenario():
        ws = await open_for(alex)
        result = await database_sync_to_async(subprocess.run)(
            [sys.executable, "-c", publisher], env=env, cwd=Path(__file__).resolve().parents[2],
            capture_output=True, text=True, timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert await ws.receive_json_from(timeout=5) == {"type": "message.created", "thread": thread.pk, "message": {"id": 99}}
        await ws.disconnect()

    run(scenario)


# --- payload helpers ---------------------------------------------------------------


def test_message_payload_carries_the_one_message_shape(shared, django_assert_num_queries):
    from chats.models import Message
    from chats.realtime.payloads import api_datetime, message_payload

    thread, alex = shared["alex_thread"], shared["alex"]
    question = Message.objects.create(
        thread=thread, direction="inbound", kind="text", status="received", wamid="wamid.IN1",
        body="Could you send me   the\nlatest study results for the elderly cohort, including the subgroup data please?",
    )
    sent_at = timezone.now()
    Message.objects.create(
        thread=thread, direction="outbound", kind="text", body="Here they are", status="sent", sent_at=sent_at,
        wamid="wamid.OUT1", reply_to=question, sender=alex, client_id="6f1c8a52-0c4e-4b8e-9a3e-2f1d9c7b5a10",
    )
    message = Message.objects.select_related("reply_to", "sender", "template").get(wamid="wamid.OUT1")

    # when the payload is built from a row loaded with its reply, sender and template
    with django_assert_num_queries(0):
        payload = message_payload(message)

    # then it holds the thread and the message as a client renders it
    assert payload["thread"] == thread.pk
    body = payload["message"]
    assert body["id"] == message.pk and body["thread"] == thread.pk
    assert (body["direction"], body["kind"], body["body"], body["status"]) == ("outbound", "text", "Here they are", "sent")
    assert body["sent_at"] == api_datetime(sent_at)
    assert body["delivered_at"] is None and body["read_at"] is None and body["failed_at"] is None
    assert body["sender"] == {"id": alex.pk, "username": alex.username, "full_name": alex.get_full_name()}
    assert body["client_id"] == "6f1c8a52-0c4e-4b8e-9a3e-2f1d9c7b5a10" and body["wamid"] == "wamid.OUT1"
    assert body["created_at"] == api_datetime(message.created_at) and body["template"] is None
    assert body["reply_to"]["id"] == question.pk and body["reply_to"]["direction"] == "inbound"
    assert body["reply_to"]["wamid"] == "wamid.IN1"
    quote = body["reply_to"]["quote"]
    assert quote.startswith("Could you send me the latest study results") and quote.endswith("…") and len(quote) == 80
    assert (body["media"], body["reactions"], body["pricing"]) == (None, [], None)
    # and it survives JSON (and so msgpack over Redis)
    assert json.loads(json.dumps(payload)) == payload


def test_message_status_payload_is_the_fields_to_merge(shared):
    from chats.models import Message
    from chats.realtime.payloads import api_datetime, message_status_payload

    thread = shared["alex_thread"]
    failed_at = timezone.now()
    message = Message.objects.create(
        thread=thread, direction="outbound", kind="text", body="Hi", status="failed", failed_at=failed_at,
        failure_code="window_closed", failure_reason="The 24-hour window closed before sending.", wamid="wamid.F1",
    )

    payload = message_status_payload(message)

    assert payload == {
        "thread": thread.pk,
        "message": {
            "id": message.pk,
            "thread": thread.pk,
            "status": "failed",
            "sent_at": None,
            "delivered_at": None,
            "read_at": None,
            "failed_at": api_datetime(failed_at),
            "failure_code": "window_closed",
            "failure_reason": "The 24-hour window closed before sending.",
        },
    }


def test_thread_state_and_consent_payloads_are_json_safe(shared):
    import datetime

    from chats.conversations.policy import ThreadState, Window
    from chats.realtime.payloads import consent_changed_payload, thread_state_payload

    expires = datetime.datetime(2025, 1, 2, 10, 0, tzinfo=datetime.timezone.utc)
    state = ThreadState(consent="opted_in", window=Window("expiring", expires), can_send_text=True)

    payload = thread_state_payload(thread_id=shared["alex_thread"].pk, state=state)

    assert payload == {
        "thread": shared["alex_thread"].pk,
        "state": {
            "consent": "opted_in",
            "window": {"status": "expiring", "expires_at": "2025-01-02T10:00:00Z"},
            "locked_by_other": False,
            "pending_template_by_other": False,
            "shared_history": False,
            "can_send_text": True,
            "can_send_template": False,
        },
    }
    assert json.loads(json.dumps(payload)) == payload
    assert consent_changed_payload(thread_id=4, account_id=9, consent="opted_in") == {
        "thread": 4, "account": 9, "consent": "opted_in"
    }


@pytest.mark.parametrize("window", [
    ("open", datetime(2025, 1, 2, 10, 0, 5, 123456, tzinfo=dt_timezone.utc)), ("awaiting_reply", None), ("none", None),
])
def test_state_output_is_what_drf_makes_of_its_fields(window):
    from rest_framework import serializers

    from chats.api.serializers import StateOutput
    from chats.conversations.policy import ThreadState, Window

    state = ThreadState(consent="opted_in", window=Window(*window), locked_by_other=True, shared_history=True,
                        can_send_template=True)
    # StateOutput builds its dict directly; DRF's own walk over its declared fields must agree.
    assert StateOutput(state).data == serializers.Serializer.to_representation(StateOutput(), state)


def test_a_real_message_payload_reaches_the_socket_intact(shared):
    from chats.models import Message
    from chats.realtime.payloads import message_payload

    alex, thread = shared["alex"], shared["alex_thread"]
    message = Message.objects.create(
        thread=thread, direction="outbound", kind="text", body="Hello", status="delivered",
        sent_at=timezone.now(), delivered_at=timezone.now(), sender=alex, wamid="wamid.R1",
    )
    payload = message_payload(message)

    async def scenario():
        ws = await open_for(alex)
        await publish(alex.pk, "message.created", payload)
        # on the services profile this crossed Redis (msgpack): datetimes as strings survive it
        assert await ws.receive_json_from() == {"type": "message.created", **payload}
        await ws.disconnect()

    run(scenario)
