"""The at-most-once hand-off guard and the stale-send sweep (chats/delivery/handoff.py, chats/delivery/queue.py).

These need no services (time-machine clocks, the fake Graph server on loopback), so they
run on both profiles; the worker-kill suite beside them is the services-only part.
"""
from datetime import datetime, timedelta, timezone as dt_timezone

import pytest
import time_machine

from chats import tasks
from chats.delivery import handoff, queue
from chats.models import Message
from chats.whatsapp import ratelimit
from tests.factories import AccountFactory, PhoneNumberFactory, ThreadFactory, UserFactory
from tests.fault.stack import free_port
from tests.whatsapp.conftest import fake_graph, run_on_commit  # noqa: F401

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=dt_timezone.utc)


@pytest.fixture
def thread():
    rep = UserFactory(username="sweep.rep")
    number = PhoneNumberFactory(reps=[rep])
    return ThreadFactory(user=rep, account=AccountFactory(team=[rep]), phone_number=number)


def queued(thread, **fields) -> Message:
    fields = {"status": "queued", **fields}
    return Message.objects.create(thread=thread, phone_number=thread.phone_number, account=thread.account,
                                  direction="outbound", body="hello", sender=thread.user, **fields)


@pytest.fixture
def enqueued(monkeypatch):
    """Every send task the sweep enqueues (the broker call itself is Celery's)."""
    calls = []
    monkeypatch.setattr(tasks.send_message_task, "delay", lambda message_id: calls.append(message_id))
    return calls


def sweep(clock_now) -> int:
    with run_on_commit():
        return queue.stale_queued_messages_requeue(older_than=timedelta(minutes=2), now=clock_now)


def test_a_send_whose_task_was_lost_is_enqueued_again_once(thread, enqueued):
    with time_machine.travel(NOW, tick=False) as clock:
        # given a queued message whose task was enqueued and then lost
        message = queued(thread)
        with run_on_commit():
            queue.message_queue_outbound(message=message)
        enqueued.clear()
        # when the sweep runs before two minutes have passed, then nothing happens
        clock.shift(timedelta(seconds=100))
        assert sweep(NOW + timedelta(seconds=100)) == 0
        # when it runs past two minutes, twice (overlapping beats)
        clock.shift(timedelta(seconds=30))
        later = NOW + timedelta(seconds=130)
        assert sweep(later) == 1
        assert sweep(later) == 0
        # then the send was enqueued exactly once, and the claim moved its due time
        assert enqueued == [message.pk]
        message.refresh_from_db()
        assert message.send_task_due_at == later
        # and if that task is lost too, the next sweep two minutes on enqueues it again
        assert sweep(later + timedelta(minutes=2, seconds=1)) == 1
        assert enqueued == [message.pk, message.pk]


def test_messages_meta_has_or_that_are_settled_or_scheduled_are_never_enqueued_again(thread, enqueued):
    with time_machine.travel(NOW, tick=False):
        # given a queued message whose wamid arrived (a status webhook linked it), sent and failed ones,
        # and a queued one whose retry is scheduled in five minutes
        queued(thread, wamid="wamid.KNOWN", send_task_due_at=NOW)
        queued(thread, status="sent", wamid="wamid.SENT")
        queued(thread, status="failed", failure_code="timeout_unknown")
        queued(thread, send_task_due_at=NOW + timedelta(minutes=5))
    # when the sweep runs six minutes later, then nothing is enqueued (the retry is only a minute late)
    assert sweep(NOW + timedelta(minutes=6)) == 0 and enqueued == []
    # when it runs once the retry is more than two minutes late, then only that message is enqueued
    assert sweep(NOW + timedelta(minutes=7, seconds=1)) == 1
    assert len(enqueued) == 1 and Message.objects.get(pk=enqueued[0]).wamid is None


def test_an_interrupted_hand_off_is_failed_timeout_unknown_and_not_sent_again(thread, fake_graph, settings):
    settings.WHATSAPP_TIMEOUT_SECONDS = 1.0
    # given a send whose worker died after it began handing the message to Meta a minute ago
    message = queued(thread, handoff_started_at=NOW)
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        # when the task runs again (broker redelivery or the sweep)
        handoff.message_deliver(message_id=message.pk)
    # then nothing went to Meta, and the message says its fate is unknown
    message.refresh_from_db()
    assert fake_graph.messages_posted() == []
    assert message.status == "failed" and message.failure_code == "timeout_unknown"


def test_a_hand_off_in_flight_elsewhere_is_waited_for_not_duplicated(thread, fake_graph, settings):
    settings.WHATSAPP_TIMEOUT_SECONDS = 1.0
    # given another worker began the hand-off one second ago
    message = queued(thread, handoff_started_at=NOW)
    with time_machine.travel(NOW + timedelta(seconds=1), tick=False):
        # when a second copy of the task runs, then it asks to look again once that call must be over
        with pytest.raises(handoff.RetryLater) as retry:
            handoff.message_deliver(message_id=message.pk)
    deadline = settings.WHATSAPP_RATE_MAX_WAIT_SECONDS + 1.0 + handoff.HANDOFF_MARGIN_SECONDS
    assert retry.value.countdown == pytest.approx(deadline - 1 + 0.5)
    message.refresh_from_db()
    assert fake_graph.messages_posted() == [] and message.status == "queued"


def test_a_refused_hand_off_is_released_so_the_retry_sends(thread, fake_graph):
    # given Meta answers 500 once, then accepts
    fake_graph.error(131000, "Something went wrong", status=500)
    message = queued(thread)
    # when the task runs (eagerly, retrying in process)
    tasks.send_message_task.delay(message.pk)
    # then the retry was allowed to claim the hand-off again, and the message was sent once more only
    message.refresh_from_db()
    assert message.status == "sent" and message.wamid.startswith("wamid.FAKE.")
    assert message.handoff_started_at is not None
    assert len(fake_graph.messages_posted()) == 2


def test_a_rate_limiter_out_of_reach_leaves_nothing_claimed_and_the_retry_sends(thread, fake_graph, settings,
                                                                                monkeypatch):
    reachable = settings.REDIS_URL
    message = queued(thread)
    # given the Redis that holds the send rates is out of reach (restarting): nothing listens there
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    # when the task runs, then it asks to try again shortly, and nothing was claimed or sent
    with pytest.raises(handoff.RetryLater) as retry:
        handoff.message_deliver(message_id=message.pk)
    assert retry.value.countdown == ratelimit.UNAVAILABLE_RETRY_SECONDS
    message.refresh_from_db()
    assert message.handoff_started_at is None and fake_graph.messages_posted() == []
    # given Redis went away between the cool-down read and the rate slot, after the hand-off was claimed
    monkeypatch.setattr(ratelimit.RedisLimiter, "cooldown_remaining", lambda self, key: 0.0)
    # when the task runs, then the request never left, so the claim is released for the retry
    with pytest.raises(handoff.RetryLater):
        handoff.message_deliver(message_id=message.pk)
    message.refresh_from_db()
    assert message.status == "queued" and message.handoff_started_at is None and fake_graph.messages_posted() == []
    # when Redis answers again, then the retry sends it, once
    settings.REDIS_URL = reachable
    monkeypatch.undo()
    handoff.message_deliver(message_id=message.pk)
    message.refresh_from_db()
    assert message.status == "sent" and len(fake_graph.messages_posted()) == 1


def test_the_sweep_runs_every_minute_from_beat(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["requeue-stale-sends"]
    assert entry == {"task": "chats.tasks.requeue_stale_sends_task", "schedule": 60.0}
    assert settings.WHATSAPP_STALE_SEND_SECONDS == 120
