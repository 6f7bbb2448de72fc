"""thread_state: window status from timestamps with the clock moved, and the shared-number flags."""
from datetime import datetime, timedelta, timezone

import pytest
import time_machine

from chats.conversations.policy import thread_state
from tests.api.conftest import ConversationFactory, MessageFactory, api_client
from tests.factories import AccountFactory, ThreadFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def alex_thread(alex, ada, shared_number):
    return ThreadFactory(user=alex, account=ada, phone_number=shared_number)


@pytest.fixture
def blair_thread(blair, ada, shared_number):
    return ThreadFactory(user=blair, account=ada, phone_number=shared_number)


def conversation(ada, shared_number, **fields):
    return ConversationFactory(account=ada, phone_number=shared_number, **fields)


def window_at(thread, when):
    with time_machine.travel(when, tick=False):
        state = api_client(thread.user).get(f"/api/v1/threads/{thread.id}/").json()["state"]
    return state["window"]["status"], state["window"]["expires_at"], state


def test_no_conversation_means_no_window(alex_thread):
    status, expires, state = window_at(alex_thread, T0)
    assert (status, expires) == ("none", None)
    assert state["can_send_template"] is True
    assert state["can_send_text"] is False
    assert state["consent"] == "opted_in"


def test_our_template_sent_awaits_reply(alex, alex_thread, ada, shared_number):
    conversation(ada, shared_number, last_template_by=alex, last_template_at=T0)
    status, expires, state = window_at(alex_thread, T0 + timedelta(hours=30))
    assert (status, expires) == ("awaiting_reply", None)
    assert state["pending_template_by_other"] is False
    assert state["can_send_text"] is False


def test_window_opens_rolls_warns_and_expires_from_whatsapp_timestamp(alex, alex_thread, ada, shared_number):
    # given: Ada answered at T0 (her WhatsApp timestamp); Alex owns the window
    conversation(ada, shared_number, owner=alex, last_inbound_at=T0, window_expires_at=T0 + timedelta(hours=24),
                 last_template_by=alex, last_template_at=T0 - timedelta(hours=1))
    expected_expiry = "2025-03-02T09:00:00Z"
    # then: open for the first 12 hours
    status, expires, state = window_at(alex_thread, T0 + timedelta(hours=11, minutes=59))
    assert (status, expires) == ("open", expected_expiry)
    assert state["can_send_text"] is True
    # expiring from 12 hours before the end
    assert window_at(alex_thread, T0 + timedelta(hours=12))[:2] == ("expiring", expected_expiry)
    assert window_at(alex_thread, T0 + timedelta(hours=23, minutes=59))[0] == "expiring"
    # expired at 24 hours after the HCP's message
    status, expires, state = window_at(alex_thread, T0 + timedelta(hours=24))
    assert (status, expires) == ("expired", expected_expiry)
    assert state["can_send_text"] is False
    assert state["can_send_template"] is True


def test_late_webhook_with_old_timestamp_is_already_expired(alex, alex_thread, ada, shared_number):
    # given: the webhook arrives now (T0) but WhatsApp says Ada wrote 25 hours ago
    conversation(ada, shared_number, owner=alex, last_inbound_at=T0 - timedelta(hours=25))
    status, expires, _ = window_at(alex_thread, T0)
    assert status == "expired"
    assert expires == "2025-03-01T08:00:00Z"


def test_late_webhook_13_hours_old_is_expiring_not_open(alex, alex_thread, ada, shared_number):
    conversation(ada, shared_number, owner=alex, last_inbound_at=T0 - timedelta(hours=13))
    assert window_at(alex_thread, T0)[0] == "expiring"


def test_ended_conversation(alex, alex_thread, ada, shared_number):
    conversation(ada, shared_number, owner=None, last_inbound_at=T0, ended_at=T0 + timedelta(hours=1), ended_by=alex)
    status, _, state = window_at(alex_thread, T0 + timedelta(hours=2))
    assert status == "ended"
    assert state["can_send_text"] is False
    assert state["can_send_template"] is True


def test_new_inbound_after_end_reopens(alex, alex_thread, ada, shared_number):
    conversation(ada, shared_number, owner=alex, last_inbound_at=T0 + timedelta(hours=3), ended_at=T0 + timedelta(hours=1))
    assert window_at(alex_thread, T0 + timedelta(hours=4))[0] == "open"


def test_template_after_end_awaits_reply(alex, alex_thread, ada, shared_number):
    conversation(ada, shared_number, last_inbound_at=T0, ended_at=T0 + timedelta(hours=1),
                 last_template_by=alex, last_template_at=T0 + timedelta(hours=2))
    assert window_at(alex_thread, T0 + timedelta(hours=3))[0] == "awaiting_reply"


def test_three_reps_on_a_shared_number(alex, blair, casey, ada, shared_number, alex_thread, blair_thread):
    # given: Blair owns an open window with Ada; Casey chatted with Ada before; Alex has no messages
    casey_thread = ThreadFactory(user=casey, account=ada, phone_number=shared_number)
    MessageFactory(thread=casey_thread, direction="outbound", sender=casey)
    MessageFactory(thread=blair_thread, direction="inbound", status="received")
    conversation(ada, shared_number, owner=blair, last_inbound_at=T0, last_template_by=blair,
                 last_template_at=T0 - timedelta(hours=1))
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        alex_state = thread_state(thread=alex_thread)
        blair_state = thread_state(thread=blair_thread)
        casey_state = thread_state(thread=casey_thread)
    # then: Alex and Casey are locked out; Blair is not
    assert alex_state.locked_by_other and casey_state.locked_by_other
    assert not blair_state.locked_by_other
    assert (alex_state.can_send_text, alex_state.can_send_template) == (False, False)
    assert (blair_state.can_send_text, blair_state.can_send_template) == (True, True)
    # the template was answered, so nobody sees it pending
    assert not alex_state.pending_template_by_other
    # shared history: others have messages with Ada on this number
    assert alex_state.shared_history and blair_state.shared_history and casey_state.shared_history
    # when: the window expires, the lock goes
    with time_machine.travel(T0 + timedelta(hours=24, seconds=1), tick=False):
        assert thread_state(thread=alex_thread).locked_by_other is False


def test_pending_template_by_other_until_answered(alex, blair, ada, shared_number, alex_thread, blair_thread):
    # given: Blair sent a template to Ada, unanswered
    conv = conversation(ada, shared_number, last_template_by=blair, last_template_at=T0)
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        alex_state = thread_state(thread=alex_thread)
        blair_state = thread_state(thread=blair_thread)
    assert alex_state.pending_template_by_other is True
    assert alex_state.can_send_template is True  # a template is still allowed
    assert alex_state.locked_by_other is False
    assert blair_state.pending_template_by_other is False
    # when: Ada answers, Blair owns the window
    conv.last_inbound_at, conv.owner = T0 + timedelta(minutes=10), blair
    conv.save()
    with time_machine.travel(T0 + timedelta(minutes=15), tick=False):
        alex_state = thread_state(thread=alex_thread)
    assert alex_state.pending_template_by_other is False
    assert alex_state.locked_by_other is True


def test_pending_template_also_after_an_old_inbound(alex, blair, ada, shared_number, alex_thread):
    conversation(ada, shared_number, last_inbound_at=T0 - timedelta(days=3), last_template_by=blair, last_template_at=T0)
    with time_machine.travel(T0, tick=False):
        state = thread_state(thread=alex_thread)
    assert state.pending_template_by_other is True
    assert state.window.status == "awaiting_reply"


def test_shared_history_ignores_threads_without_messages_and_other_numbers(alex, blair, ada, shared_number,
                                                                           alex_thread, blair_thread, waba):
    from tests.factories import PhoneNumberFactory

    other_number = PhoneNumberFactory(waba=waba, reps=[blair])
    MessageFactory(thread=ThreadFactory(user=blair, account=ada, phone_number=other_number))
    MessageFactory(thread=alex_thread)  # Alex's own messages do not count either
    assert thread_state(thread=alex_thread).shared_history is False


@pytest.mark.parametrize("consent,expected", [(False, "not_captured"), ("opted_out", "opted_out")])
def test_no_sending_without_consent(alex, shared_number, consent, expected):
    account = AccountFactory(team=[alex], consent=consent)
    thread = ThreadFactory(user=alex, account=account, phone_number=shared_number)
    ConversationFactory(account=account, phone_number=shared_number, owner=alex, last_inbound_at=T0)
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        state = thread_state(thread=thread)
    assert state.consent == expected
    assert state.window.status == "open"
    assert (state.can_send_text, state.can_send_template) == (False, False)


def test_state_now_argument_wins_over_clock(alex, alex_thread, ada, shared_number):
    conversation(ada, shared_number, owner=alex, last_inbound_at=T0)
    assert thread_state(thread=alex_thread, now=T0 + timedelta(hours=1)).window.status == "open"
    assert thread_state(thread=alex_thread, now=T0 + timedelta(hours=25)).window.status == "expired"
