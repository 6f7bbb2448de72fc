"""Read receipts and the typing indicator, through the REST API and the web session, to a fake Graph API.

Meta's shapes: `POST /{version}/{phone-number-id}/messages` with `{"messaging_product": "whatsapp",
"status": "read", "message_id": <wamid>}`, plus `"typing_indicator": {"type": "text"}` for typing.
"""
from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache

from chats.models import Message
from tests.api.conftest import api_client
from tests.conversations.conftest import T0, hcp_says, on_commit, send

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_typing_marks_from_other_tests():
    cache.clear()  # the per-thread typing marks live in the process's cache
    yield
    cache.clear()


@pytest.fixture
def thread(threads):
    return threads["rep.alex"]


@pytest.fixture
def conversation(client, fake_graph, thread, templates, ada, shared_number):
    """Alex sent the intro template at T0; Ada answered twice (T0 + 1 and + 2 min). Returns her wamids."""
    with at(0):
        assert send(thread, template=templates["intro"]).status_code == 201
    for minute, wamid in ((1, "wamid.ADA.1"), (2, "wamid.ADA.2")):
        with at(minute):
            hcp_says(client, account=ada, number=shared_number, text=f"Answer {minute}", at=T0 + timedelta(minutes=minute),
                     wamid=wamid)
    return ["wamid.ADA.1", "wamid.ADA.2"]


def at(minutes=5, seconds=0):
    return time_machine.travel(T0 + timedelta(minutes=minutes, seconds=seconds), tick=False)


def open_thread(thread, *, user=None, client=None):
    """What the web chat does when the rep opens (or looks again at) the thread."""
    with on_commit():
        return (client or api_client(user or thread.user)).post(f"/api/v1/threads/{thread.pk}/read/")


def typing(thread, *, user=None):
    with on_commit():
        return api_client(user or thread.user).post(f"/api/v1/threads/{thread.pk}/typing/")


TYPING_BODY = {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.ADA.2",
               "typing_indicator": {"type": "text"}}


def read_bodies(fake_graph) -> list[dict]:
    return [r.json for r in fake_graph.read_statuses_posted()]


# --- read receipts ------------------------------------------------------------------------------

def test_opening_a_thread_with_unread_hcp_messages_marks_the_latest_read_at_meta(fake_graph, thread, conversation,
                                                                                   shared_number):
    # when: Alex opens the thread with Ada's two unread answers
    with at(5):
        response = open_thread(thread)
    # then: one receipt, for her latest message, as Meta documents it
    assert response.status_code == 200
    [request] = fake_graph.read_statuses_posted()
    assert request.path == f"/v26.0/{shared_number.phone_number_id}/messages"
    assert request.headers["Authorization"] == f"Bearer {shared_number.waba.effective_access_token}"
    assert request.json == {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.ADA.2"}
    # and the message says when it was marked read; the earlier one is covered by Meta's rule
    messages = api_client(thread.user).get(f"/api/v1/threads/{thread.pk}/messages/").json()["results"]
    read_at = {m["wamid"]: m["read_at"] for m in messages if m["direction"] == "inbound"}
    assert read_at == {"wamid.ADA.1": None, "wamid.ADA.2": "2025-03-03T09:05:00Z"}


def test_reopening_reloading_or_a_second_tab_sends_no_second_receipt(fake_graph, thread, conversation):
    # given: the thread was opened once
    with at(5):
        open_thread(thread)
    # when: a second tab, a reload later, a replayed request
    with at(5):
        open_thread(thread)
    with at(30):
        open_thread(thread)
        open_thread(thread)
    # then: still the one receipt
    assert read_bodies(fake_graph) == [{"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.ADA.2"}]


def test_a_new_hcp_message_is_marked_when_the_rep_reads_it(client, fake_graph, thread, conversation, ada,
                                                           shared_number):
    with at(5):
        open_thread(thread)
    with at(10):
        hcp_says(client, account=ada, number=shared_number, text="One more thing", at=T0 + timedelta(minutes=10),
                 wamid="wamid.ADA.3")
    with at(11):
        open_thread(thread)
    assert [b["message_id"] for b in read_bodies(fake_graph)] == ["wamid.ADA.2", "wamid.ADA.3"]


def test_a_late_copy_of_an_older_message_is_covered_by_the_latest_one(client, fake_graph, thread, conversation, ada,
                                                                      shared_number):
    # given: the latest message was marked read
    with at(5):
        open_thread(thread)
    # when: a message Ada wrote before it reaches us late, and Alex looks again
    with at(6):
        hcp_says(client, account=ada, number=shared_number, text="Written earlier", at=T0 + timedelta(seconds=90),
                 wamid="wamid.ADA.LATE")
        open_thread(thread)
    # then: nothing more: marking the latest marked every earlier message read at Meta
    assert [b["message_id"] for b in read_bodies(fake_graph)] == ["wamid.ADA.2"]


def test_no_receipt_when_the_setting_is_off(settings, client, fake_graph, thread, conversation, ada, shared_number):
    # given: receipts are off when Alex opens the thread
    settings.WHATSAPP_SEND_READ_RECEIPTS = False
    with at(5):
        assert open_thread(thread).status_code == 200
    # then: nothing went to Meta and nothing is marked
    assert read_bodies(fake_graph) == []
    assert not Message.objects.filter(direction="inbound", read_at__isnull=False).exists()
    # when: they are on again (the default) and Ada writes once more
    settings.WHATSAPP_SEND_READ_RECEIPTS = True
    with at(10):
        hcp_says(client, account=ada, number=shared_number, text="Hello?", at=T0 + timedelta(minutes=10),
                 wamid="wamid.ADA.3")
        open_thread(thread)
    # then: her new message is marked
    assert [b["message_id"] for b in read_bodies(fake_graph)] == ["wamid.ADA.3"]


def test_no_receipt_beyond_metas_thirty_days(client, fake_graph, thread, conversation, ada, shared_number):
    # when: Alex first opens the thread 30 days after Ada's answers
    later = T0 + timedelta(days=30, minutes=3)
    with time_machine.travel(later, tick=False):
        assert open_thread(thread).status_code == 200
    # then: Meta would refuse them: nothing is sent
    assert read_bodies(fake_graph) == []
    # when: Ada writes again and Alex reads it
    with time_machine.travel(later + timedelta(minutes=1), tick=False):
        hcp_says(client, account=ada, number=shared_number, text="Still there?", at=later + timedelta(minutes=1),
                 wamid="wamid.ADA.3")
        open_thread(thread)
    assert [b["message_id"] for b in read_bodies(fake_graph)] == ["wamid.ADA.3"]


def test_a_thread_without_hcp_messages_sends_nothing(fake_graph, threads, conversation):
    # when: Blair opens her thread with Ada (Ada's answers went to Alex), then Alex opens his
    with at(5):
        assert open_thread(threads["rep.blair"]).status_code == 200
        assert read_bodies(fake_graph) == []
        open_thread(threads["rep.alex"])
    # then: only Alex's thread had Ada's messages to mark
    assert [b["message_id"] for b in read_bodies(fake_graph)] == ["wamid.ADA.2"]


def test_a_passing_error_is_retried_and_a_refusal_never_breaks_opening(fake_graph, thread, conversation, caplog):
    # given: Meta fails once with a transient error
    fake_graph.error(131000, "Something went wrong", status=500)
    with at(5):
        assert open_thread(thread).status_code == 200
    # then: the receipt was tried again and taken
    assert [b["message_id"] for b in read_bodies(fake_graph)] == ["wamid.ADA.2", "wamid.ADA.2"]
    assert Message.objects.get(wamid="wamid.ADA.2").read_at is not None


def test_a_receipt_meta_refuses_is_logged_and_the_message_stays_unmarked(fake_graph, thread, conversation, caplog):
    fake_graph.error(131009, "Parameter value is not valid")
    with at(5):
        response = open_thread(thread)
    assert response.status_code == 200
    assert len(read_bodies(fake_graph)) == 1  # a refusal is not retried
    assert Message.objects.get(wamid="wamid.ADA.2").read_at is None
    assert "read receipt for message" in caplog.text and "131009" in caplog.text


def test_another_reps_thread_is_404_and_sends_nothing(fake_graph, blair, thread, conversation):
    # when: Blair tries Alex's thread
    with at(5):
        assert open_thread(thread, user=blair).status_code == 404
        assert typing(thread, user=blair).status_code == 404
    assert read_bodies(fake_graph) == []
    # then: the message is still unmarked for Alex, whose own typing call works
    with at(6):
        assert typing(thread).status_code == 202
    assert read_bodies(fake_graph) == [TYPING_BODY]


def test_the_web_chat_marks_read_through_the_signed_in_session(client, fake_graph, thread, conversation, alex):
    # given: Alex signed in to the web chat and opened the thread's page
    client.force_login(alex)
    with at(5):
        assert client.get(f"/chats/{thread.pk}/").status_code == 200
        assert read_bodies(fake_graph) == []  # rendering the page sends nothing by itself
        # when: the page's script marks the thread read, as it does once the messages are shown
        response = open_thread(thread, client=client)
    # then
    assert response.status_code == 200
    assert [b["message_id"] for b in read_bodies(fake_graph)] == ["wamid.ADA.2"]


# --- typing indicator ---------------------------------------------------------------------------


def test_typing_shows_metas_indicator_once_per_interval(fake_graph, thread, conversation, shared_number):
    # when: a burst of typing calls within 15 seconds
    outcomes = []
    for second in (0, 1, 5, 14):
        with at(5, second):
            response = typing(thread)
            assert response.status_code == 202
            outcomes.append(response.json())
    # then: one indicator reached Meta, attached to Ada's latest message
    assert outcomes == [{"thread": thread.pk, "indicator": "queued"}] + [
        {"thread": thread.pk, "indicator": "debounced"}] * 3
    [request] = fake_graph.read_statuses_posted()
    assert request.path == f"/v26.0/{shared_number.phone_number_id}/messages"
    assert request.json == TYPING_BODY
    # when: the rep still types after the interval
    with at(5, 16):
        assert typing(thread).json()["indicator"] == "queued"
    # then: a second one
    assert read_bodies(fake_graph) == [TYPING_BODY, TYPING_BODY]


def test_typing_outside_the_window_is_refused_and_sends_nothing(fake_graph, thread, conversation):
    with time_machine.travel(T0 + timedelta(hours=24, minutes=3), tick=False):
        response = typing(thread)
    assert (response.status_code, response.json()["code"]) == (409, "window_closed")
    assert read_bodies(fake_graph) == []


def test_typing_while_another_rep_holds_the_conversation_is_refused(fake_graph, threads, conversation):
    with at(5):
        response = typing(threads["rep.blair"])
    assert (response.status_code, response.json()["code"]) == (409, "conversation_locked")
    assert read_bodies(fake_graph) == []


def test_typing_sends_nothing_when_read_receipts_are_off(settings, fake_graph, thread, conversation):
    settings.WHATSAPP_SEND_READ_RECEIPTS = False
    with at(5):
        response = typing(thread)
    assert (response.status_code, response.json()["indicator"]) == (202, "disabled")
    assert read_bodies(fake_graph) == []


def test_a_typing_indicator_marks_the_message_read_so_opening_adds_no_receipt(fake_graph, thread, conversation):
    with at(5):
        typing(thread)
        open_thread(thread)
    assert read_bodies(fake_graph) == [TYPING_BODY]
