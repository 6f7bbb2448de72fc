"""Three reps on one number talking to the same HCP: lock, banner, routing, own messages only."""
from datetime import timedelta

import pytest
import time_machine

from chats.models import Conversation, Message
from tests.api.conftest import api_client
from tests.conversations.conftest import T0, hcp_says, send, state_of

pytestmark = pytest.mark.django_db
M = timedelta(minutes=1)


def at(minutes):
    return time_machine.travel(T0 + minutes * M, tick=False)


def bodies(thread):
    return [m["body"] for m in api_client(thread.user).get(f"/api/v1/threads/{thread.pk}/messages/").json()["results"]]


def test_answer_goes_to_the_latest_template_sender_who_then_holds_the_window(client, threads, templates, ada,
                                                                              shared_number):
    alex, blair, casey = threads["rep.alex"], threads["rep.blair"], threads["rep.casey"]
    # given: Alex sent a template; Blair and Casey see the yellow banner and may still send one
    with at(0):
        assert send(alex, template=templates["intro"]).status_code == 201
    with at(1):
        blair_state = state_of(blair)
        assert blair_state["pending_template_by_other"] is True and blair_state["can_send_template"] is True
        assert state_of(alex)["pending_template_by_other"] is False
        assert state_of(alex)["window"]["status"] == "awaiting_reply"
        assert send(blair, template=templates["intro"]).status_code == 201  # Blair's is now the latest
    with at(2):
        assert state_of(alex)["pending_template_by_other"] is True
    # when: Ada answers
    with at(3):
        hcp_says(client, account=ada, number=shared_number, text="Yes, Tuesday works", at=T0 + 3 * M)
    # then: Blair owns the window and only Blair sees the answer
    assert Conversation.objects.get().owner == blair.user
    assert "Yes, Tuesday works" in bodies(blair)
    assert "Yes, Tuesday works" not in bodies(alex) and "Yes, Tuesday works" not in bodies(casey)
    # and the others are locked out of everything while it is open
    with at(4):
        for thread in (alex, casey):
            state = state_of(thread)
            assert state["locked_by_other"] is True and state["can_send_template"] is False
            assert state["pending_template_by_other"] is False
            for body in ({"text": "Hi"}, {"template": templates["intro"]}):
                response = send(thread, **body)
                assert (response.status_code, response.json()["code"]) == (409, "conversation_locked")
        assert send(blair, text="Great, see you Tuesday").status_code == 201
    # each rep sees only their own messages, and knows another rep has chatted with Ada
    assert "Great, see you Tuesday" not in bodies(alex)
    with at(5):
        assert state_of(alex)["shared_history"] is True and state_of(casey)["shared_history"] is True
    assert Message.objects.filter(thread=alex, direction="outbound").count() == 1


def test_the_lock_lifts_when_the_owner_ends_or_the_window_expires(client, threads, templates, ada, shared_number):
    alex, casey = threads["rep.alex"], threads["rep.casey"]
    with at(0):
        send(alex, template=templates["intro"])
    with at(1):
        hcp_says(client, account=ada, number=shared_number, at=T0 + M)
    with at(2):
        assert send(casey, template=templates["intro"]).json()["code"] == "conversation_locked"
        assert api_client(alex.user).post(f"/api/v1/threads/{alex.pk}/end/").status_code == 200
        assert state_of(casey)["locked_by_other"] is False
        assert send(casey, template=templates["intro"]).status_code == 201
    # Casey's template is the latest: Ada's next answer is Casey's, and Casey holds the window
    with at(3):
        hcp_says(client, account=ada, number=shared_number, text="For Casey", at=T0 + 3 * M)
    assert Conversation.objects.get().owner == casey.user and "For Casey" in bodies(casey)
    with time_machine.travel(T0 + 3 * M + timedelta(hours=24), tick=False):
        assert state_of(alex)["locked_by_other"] is False
        assert send(alex, template=templates["intro"]).status_code == 201


def test_shared_history_is_false_until_another_rep_chats(threads, templates):
    with at(0):
        assert state_of(threads["rep.blair"])["shared_history"] is False
        send(threads["rep.alex"], template=templates["intro"])
        assert state_of(threads["rep.blair"])["shared_history"] is True
        assert state_of(threads["rep.alex"])["shared_history"] is False


def test_an_answer_without_any_template_on_a_shared_number_is_kept_unrouted(client, threads, ada, shared_number):
    with at(0):
        hcp_says(client, account=ada, number=shared_number, text="Anyone?", at=T0)
    message = Message.objects.get(body="Anyone?")
    assert message.thread is None and message.unrouted_reason
