"""Live events are published after commit, to the thread's rep only."""

import pytest

from chats.models import Message
from tests.factories import ThreadFactory
from tests.whatsapp.conftest import post_webhook, status_body, text_body

pytestmark = pytest.mark.django_db


def test_inbound_message_is_published_once_to_its_rep(client, alex, ada, solo_number, published):
    body = text_body(number=solo_number, account=ada, wamid="wamid.LIVE", text="ping")
    post_webhook(client, body)
    post_webhook(client, body)  # a duplicate publishes nothing
    by_type = [c.args[1] for c in published.call_args_list]
    assert sorted(by_type) == ["message.created", "thread.state"]  # the window opened: its state too
    [call] = [c for c in published.call_args_list if c.args[1] == "message.created"]
    user_id, event_type, payload = call.args
    assert (user_id, event_type) == (alex.pk, "message.created")
    assert payload["message"]["body"] == "ping" and payload["message"]["direction"] == "inbound"


def test_status_change_is_published_and_a_stale_one_is_not(client, alex, ada, solo_number, published):
    thread = ThreadFactory(user=alex, account=ada, phone_number=solo_number)
    Message.objects.create(thread=thread, phone_number=solo_number, account=ada, direction="outbound",
                           body="Hi", wamid="wamid.OUT.LIVE", status="sent")
    post_webhook(client, status_body(number=solo_number, wamid="wamid.OUT.LIVE", status="read"))
    post_webhook(client, status_body(number=solo_number, wamid="wamid.OUT.LIVE", status="delivered"))
    [call] = published.call_args_list
    assert call.args[:2] == (alex.pk, "message.status")
    assert call.args[2]["message"]["status"] == "read"
