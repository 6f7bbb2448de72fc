"""The POST endpoints run the same number of queries whatever the number of rows around them.

Each request is measured without its after-commit work (the send task runs in a worker).
"""
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.test import TestCase

from chats.models import Conversation, Message
from tests.api.conftest import MessageFactory, api_client
from tests.conversations.conftest import T0
from tests.factories import AccountFactory, MediaItemFactory, TemplateFactory, ThreadFactory

pytestmark = pytest.mark.django_db
SIZES = [2, 12]


def build(size, blair_thread, shared_number, waba, alex):
    """`size` other HCPs with threads and messages, `size` messages in Ada's threads, more templates and media."""
    for i in range(size):
        account = AccountFactory(team=[alex], whatsapp_number=f"+1202555{size:02d}{i:02d}")
        other = ThreadFactory(user=alex, account=account, phone_number=shared_number)
        for _ in range(size):
            MessageFactory(thread=other)
            MessageFactory(thread=blair_thread, direction="inbound")
        TemplateFactory(waba=waba)
        MediaItemFactory()


@pytest.fixture
def world(threads, templates, shared_number, ada, alex):
    """Alex holds an open window with Ada since T0."""
    Conversation.objects.create(phone_number=shared_number, account=ada, owner=alex, last_inbound_at=T0,
                                window_expires_at=T0 + timedelta(hours=24))
    return threads["rep.alex"]


def post(client, path, body, expected, django_assert_num_queries):
    with time_machine.travel(T0 + timedelta(hours=1), tick=False), \
            TestCase.captureOnCommitCallbacks(execute=False), django_assert_num_queries(expected):
        response = client.post(path, body, format="json")
    assert response.status_code in (200, 201), response.json()
    return response


@pytest.mark.parametrize("size", SIZES)
# Each publish of live events also appends to the integrations' change feed (one INSERT per publish).
# consent: 32 with its evidence, the method read and the wording's first version written (savepoint, insert,
# release); the same capture again reads that version (29)
# each answer's message reads its reactions (one query: a repeat may answer with a message reacted to since)
# end: 21 with the read of the reps who waited behind the window (chats/conversations/waiting.py)
@pytest.mark.parametrize("kind,expected", [("text", 13), ("template", 16), ("media", 16), ("end", 21), ("consent", 32)])
def test_post_query_count_does_not_grow(size, kind, expected, world, threads, templates, shared_number, waba, alex, ada,
                                        django_assert_num_queries):
    build(size, threads["rep.blair"], shared_number, waba, alex)
    client = api_client(alex)
    messages = f"/api/v1/threads/{world.pk}/messages/"
    body = {"client_id": str(uuid.uuid4())}
    if kind == "text":
        post(client, messages, body | {"kind": "text", "text": "Hello"}, expected, django_assert_num_queries)
    elif kind == "template":
        post(client, messages, body | {"kind": "template", "template": templates["intro"].pk}, expected,
             django_assert_num_queries)
    elif kind == "media":
        post(client, messages, body | {"kind": "media", "media": MediaItemFactory().pk}, expected,
             django_assert_num_queries)
    elif kind == "end":
        post(client, f"/api/v1/threads/{world.pk}/end/", {}, expected, django_assert_num_queries)
    else:
        ada.consent.delete()  # a capture for an HCP not captured yet (an opted-in one is left as is)
        post(client, f"/api/v1/accounts/{ada.pk}/consent/", {"phone_number": shared_number.pk, "method": "verbal"}, expected,
             django_assert_num_queries)
    assert Message.objects.filter(thread=world, direction="outbound").count() == 1


@pytest.mark.parametrize("size", SIZES)
def test_an_idempotent_repeat_is_cheap(size, world, threads, shared_number, waba, alex, django_assert_num_queries):
    build(size, threads["rep.blair"], shared_number, waba, alex)
    client = api_client(alex)
    key = str(uuid.uuid4())
    body = {"kind": "text", "text": "Hello", "client_id": key}
    post(client, f"/api/v1/threads/{world.pk}/messages/", body, 13, django_assert_num_queries)
    repeat = post(client, f"/api/v1/threads/{world.pk}/messages/", body, 8, django_assert_num_queries)
    assert repeat.status_code == 200
