"""The 24-hour window with the clock moved, ending, and the beat task's announcements."""
from datetime import timedelta

import pytest
import time_machine

from chats.conversations.announcements import window_announce_due
from chats.models import AuditEvent, Conversation, Message
from chats.tasks import announce_windows_task
from tests.api.conftest import api_client
from tests.conversations.conftest import T0, hcp_says, on_commit, send, state_of

pytestmark = pytest.mark.django_db
H = timedelta(hours=1)


@pytest.fixture
def alex_thread(threads):
    return threads["rep.alex"]


def template_then_answer(client, thread, templates, *, answered_at, arrives_at=None):
    with time_machine.travel(T0, tick=False):
        assert send(thread, template=templates["intro"]).status_code == 201
    with time_machine.travel(arrives_at or answered_at, tick=False):
        hcp_says(client, account=thread.account, number=thread.phone_number, at=answered_at)


def state_at(thread, when):
    with time_machine.travel(when, tick=False):
        return state_of(thread)


def text_at(thread, when, text="Hello"):
    with time_machine.travel(when, tick=False):
        return send(thread, text=text)


def test_window_opens_warns_and_expires_from_the_whatsapp_timestamp(client, alex_thread, templates):
    # given: Ada answered Alex's template at T0 + 1 h (WhatsApp time)
    answered = T0 + H
    template_then_answer(client, alex_thread, templates, answered_at=answered)
    # then: open, expiring in the last 12 hours, expired 24 hours after her message
    assert state_at(alex_thread, answered + 11 * H)["window"]["status"] == "open"
    state = state_at(alex_thread, answered + 12 * H)
    assert state["window"]["status"] == "expiring" and state["can_send_text"] is True
    assert text_at(alex_thread, answered + 23 * H).status_code == 201
    state = state_at(alex_thread, answered + 24 * H)
    assert state["window"]["status"] == "expired" and state["can_send_text"] is False
    refused = text_at(alex_thread, answered + 24 * H)
    assert (refused.status_code, refused.json()["code"]) == (409, "window_closed")
    assert state["window"]["expires_at"].startswith((answered + 24 * H).strftime("%Y-%m-%dT%H:%M"))


def test_every_hcp_message_rolls_the_window_but_ours_do_not(client, alex_thread, templates):
    template_then_answer(client, alex_thread, templates, answered_at=T0 + H)
    text_at(alex_thread, T0 + 20 * H)  # our own message: no roll
    assert state_at(alex_thread, T0 + 25 * H)["window"]["status"] == "expired"
    with time_machine.travel(T0 + 26 * H, tick=False):
        hcp_says(client, account=alex_thread.account, number=alex_thread.phone_number, at=T0 + 26 * H)
    assert state_at(alex_thread, T0 + 49 * H)["window"]["status"] == "expiring"
    assert text_at(alex_thread, T0 + 49 * H).status_code == 201


def test_a_late_webhook_23_hours_old_opens_the_window_for_one_hour(client, alex_thread, templates):
    # given: Ada's answer was written at T0 + 1 h but its webhook arrives 23 h later
    written = T0 + H
    template_then_answer(client, alex_thread, templates, answered_at=written, arrives_at=written + 23 * H)
    # then: the window is open for the one hour left, then expired
    state = state_at(alex_thread, written + 23 * H)
    assert state["window"]["status"] == "expiring"
    assert text_at(alex_thread, written + 23.5 * H).status_code == 201
    assert text_at(alex_thread, written + 24 * H).json()["code"] == "window_closed"


def test_a_late_webhook_25_hours_old_opens_no_window(client, alex_thread, templates):
    written = T0 + H
    template_then_answer(client, alex_thread, templates, answered_at=written, arrives_at=written + 25 * H)
    assert Message.objects.filter(direction="inbound", thread=alex_thread).exists()  # stored and routed all the same
    assert state_at(alex_thread, written + 25 * H)["window"]["status"] == "expired"
    assert text_at(alex_thread, written + 25 * H).json()["code"] == "window_closed"


def test_an_old_copy_never_moves_the_window_back(client, alex_thread, templates):
    template_then_answer(client, alex_thread, templates, answered_at=T0 + 10 * H)
    with time_machine.travel(T0 + 11 * H, tick=False):
        hcp_says(client, account=alex_thread.account, number=alex_thread.phone_number, at=T0 + H)
    assert state_at(alex_thread, T0 + 30 * H)["window"]["status"] == "expiring"


# --- ending ------------------------------------------------------------------------------------

def end(thread, user=None, when=T0 + 2 * H):
    with time_machine.travel(when, tick=False), on_commit():
        return api_client(user or thread.user).post(f"/api/v1/threads/{thread.pk}/end/", format="json")


def test_the_owner_ends_the_window_and_the_closing_template_goes(client, alex_thread, templates, backend):
    template_then_answer(client, alex_thread, templates, answered_at=T0 + H)
    response = end(alex_thread)
    body = response.json()
    assert response.status_code == 200 and body["state"]["window"]["status"] == "ended"
    assert body["closing_message"]["template"]["name"] == "conversation_closed"
    assert backend.sent[-1]["template"]["name"] == "conversation_closed"
    assert AuditEvent.objects.filter(kind="window.ended", actor=alex_thread.user).count() == 1
    assert text_at(alex_thread, T0 + 3 * H).json()["code"] == "window_closed"
    # a new HCP message opens it again
    with time_machine.travel(T0 + 4 * H, tick=False):
        hcp_says(client, account=alex_thread.account, number=alex_thread.phone_number, at=T0 + 4 * H)
    assert state_at(alex_thread, T0 + 5 * H)["window"]["status"] == "open"


def test_no_closing_template_in_the_hcps_language_means_none_is_sent(client, alex_thread, templates, backend):
    templates["closing"].delete()
    template_then_answer(client, alex_thread, templates, answered_at=T0 + H)
    sent_before = len(backend.sent)
    body = end(alex_thread).json()
    assert body["closing_message"] is None and body["state"]["window"]["status"] == "ended"
    assert len(backend.sent) == sent_before


def test_only_the_owner_may_end_and_only_an_open_window(client, threads, templates):
    alex_thread, blair_thread = threads["rep.alex"], threads["rep.blair"]
    nothing = end(alex_thread)
    assert (nothing.status_code, nothing.json()["code"]) == (409, "window_closed")
    template_then_answer(client, alex_thread, templates, answered_at=T0 + H)
    stranger = end(blair_thread)
    assert (stranger.status_code, stranger.json()["code"]) == (409, "not_window_owner")
    assert Conversation.objects.get().ended_at is None


# --- the beat task -----------------------------------------------------------------------------

def test_beat_announces_the_warning_and_the_expiry_once_each(client, threads, templates, published):
    alex_thread = threads["rep.alex"]
    template_then_answer(client, alex_thread, templates, answered_at=T0 + H)
    published.reset_mock()

    def run(when):
        published.reset_mock()
        with time_machine.travel(when, tick=False), on_commit():
            return announce_windows_task.delay().get()

    assert run(T0 + 12 * H) == {"warned": 0, "expired": 0}  # 13 h left: nothing due
    assert run(T0 + 13 * H) == {"warned": 1, "expired": 0}
    # every rep with a thread with Ada on the number hears the new state
    told = {(c.args[0], c.args[2]["thread"]) for c in published.call_args_list if c.args[1] == "thread.state"}
    assert told == {(t.user_id, t.pk) for t in threads.values()}
    [alex_event] = [c.args[2] for c in published.call_args_list if c.args[0] == alex_thread.user_id]
    assert alex_event["state"]["window"]["status"] == "expiring"
    assert run(T0 + 14 * H) == {"warned": 0, "expired": 0}  # not twice
    assert run(T0 + 25 * H) == {"warned": 0, "expired": 1}
    assert published.call_args_list[0].args[2]["state"]["window"]["status"] == "expired"
    assert AuditEvent.objects.filter(kind="window.expired", thread=alex_thread).count() == 1
    assert run(T0 + 26 * H) == {"warned": 0, "expired": 0}
    conversation = Conversation.objects.get()
    assert conversation.expiry_warned_at == T0 + 13 * H and conversation.expiry_announced_at == T0 + 25 * H


def test_a_rolled_window_is_warned_again_and_an_ended_one_never_expires(client, alex_thread, templates, published):
    template_then_answer(client, alex_thread, templates, answered_at=T0 + H)
    assert window_announce_due(now=T0 + 13 * H)["warned"] == 1
    with time_machine.travel(T0 + 14 * H, tick=False):
        hcp_says(client, account=alex_thread.account, number=alex_thread.phone_number, at=T0 + 14 * H)
    assert window_announce_due(now=T0 + 20 * H) == {"warned": 0, "expired": 0}
    assert window_announce_due(now=T0 + 27 * H)["warned"] == 1
    end(alex_thread, when=T0 + 28 * H)
    assert window_announce_due(now=T0 + 40 * H) == {"warned": 0, "expired": 0}
    assert not AuditEvent.objects.filter(kind="window.expired").exists()


def test_a_window_rolled_between_the_beats_read_and_its_claim_is_not_announced_expired(
        client, alex_thread, templates, published):
    from unittest import mock

    from chats.conversations import announcements

    # given Ada's window expired at T0 + 25 h, and the beat reads it as due
    template_then_answer(client, alex_thread, templates, answered_at=T0 + H)
    real_due = announcements._due

    def due_then_ada_writes(conversations):
        due = real_due(conversations)
        if due and "expiry_announced_at" in str(conversations.query):
            # when Ada's new message rolls the window before the beat claims its announcement
            with time_machine.travel(T0 + 26 * H, tick=False):
                hcp_says(client, account=alex_thread.account, number=alex_thread.phone_number, at=T0 + 26 * H)
        return due

    with mock.patch.object(announcements, "_due", side_effect=due_then_ada_writes):
        counts = window_announce_due(now=T0 + 26 * H + timedelta(seconds=1))
    # then nothing is announced as expired: the window is open again, and nobody was told otherwise
    assert counts == {"warned": 0, "expired": 0}
    assert not AuditEvent.objects.filter(kind="window.expired").exists()
    assert Conversation.objects.get().expiry_announced_at is None
    assert state_at(alex_thread, T0 + 27 * H)["window"]["status"] == "open"


def test_an_answer_stamped_in_the_second_of_the_end_goes_to_the_new_template_sender_and_opens_their_window(
        client, threads, templates):
    alex, blair = threads["rep.alex"], threads["rep.blair"]
    ms = timedelta(milliseconds=1)
    # given Alex held Ada's window and ended it at 02:00:00.300, and Blair then sent a template
    template_then_answer(client, alex, templates, answered_at=T0 + H)
    assert end(alex, when=T0 + 2 * H + 300 * ms).status_code == 200
    with time_machine.travel(T0 + 2 * H + 600 * ms, tick=False):
        assert send(blair, template=templates["intro"]).status_code == 201
    # when Ada answers, WhatsApp stamping it 02:00:00 (whole seconds) and Rapport receiving it at 02:00:01
    with time_machine.travel(T0 + 2 * H + 1000 * ms, tick=False):
        hcp_says(client, account=blair.account, number=blair.phone_number, text="Yes", at=T0 + 2 * H)
    # then it reached Blair, whose window is open (not awaiting a reply), and Alex is locked out
    assert Message.objects.get(body="Yes").thread == blair
    assert state_at(blair, T0 + 2 * H + 2000 * ms)["window"]["status"] == "open"
    assert state_at(alex, T0 + 2 * H + 2000 * ms)["locked_by_other"] is True


def test_a_message_written_before_the_end_and_delivered_late_opens_no_window(client, alex_thread, templates):
    # given Alex ended the window at 02:00
    template_then_answer(client, alex_thread, templates, answered_at=T0 + H)
    assert end(alex_thread, when=T0 + 2 * H).status_code == 200
    opened = AuditEvent.objects.filter(kind__in=["window.opened", "window.rolled"]).count()
    # when a message Ada wrote at 01:30 reaches us only at 02:10
    with time_machine.travel(T0 + 2 * H + 10 * 60 * timedelta(seconds=1), tick=False):
        hcp_says(client, account=alex_thread.account, number=alex_thread.phone_number, text="Late", at=T0 + 90 * 60 * timedelta(seconds=1))
    # then it is stored in the thread, but the window stays ended and no window row is written
    assert Message.objects.get(body="Late").thread == alex_thread
    assert AuditEvent.objects.filter(kind__in=["window.opened", "window.rolled"]).count() == opened
    assert state_at(alex_thread, T0 + 2 * H + 11 * 60 * timedelta(seconds=1))["window"]["status"] == "ended"


def test_the_beat_task_is_scheduled_every_minute(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["announce-windows"]
    assert entry == {"task": "chats.tasks.announce_windows_task", "schedule": 60.0}
