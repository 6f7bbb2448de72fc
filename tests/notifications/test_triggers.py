"""When reps' devices are notified: an HCP's new message (from the drain, after its commit), the 12-hour
warning (once per window) and the end of another rep's lock (to the reps who waited behind it)."""
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.test import TestCase

from chats import jobs
from chats.conversations.announcements import window_announce_due
from chats.ingress.queue import webhook_events_drain
from chats.models import Thread, WebhookEvent
from tests.api.conftest import api_client
from tests.conversations.conftest import T0, hcp_says, on_commit, send
from tests.whatsapp.conftest import post_webhook, text_body

pytestmark = pytest.mark.django_db
H = timedelta(hours=1)
M = timedelta(minutes=1)


def shown(device, push_service, kind=None) -> list[dict]:
    """What the device was sent, decrypted, oldest first (only of `kind` when given)."""
    notes = [device.read(r) for r in push_service.received if r.path == urlsplit(device.endpoint).path]
    return [n for n in notes if kind is None or n["kind"] == kind]


@pytest.fixture
def devices(vapid, new_device, alex, blair, casey):
    made = {}
    for user in (alex, blair, casey):
        made[user.username] = new_device(user.username)
        made[user.username].subscribe(user)
    return made


def alex_holds_adas_window(client, threads, templates, at=T0):
    """Alex sent a template and Ada answered: Alex owns the window; Blair and Casey are locked out."""
    with time_machine.travel(at, tick=False):
        assert send(threads["rep.alex"], template=templates["intro"]).status_code == 201
    with time_machine.travel(at + M, tick=False):
        hcp_says(client, account=threads["rep.alex"].account, number=threads["rep.alex"].phone_number,
                 text="Yes, Tuesday works", at=at + M)


def test_a_new_message_is_pushed_after_the_drain_commits_never_in_the_webhook_request(
        client, devices, push_service, threads, templates, ada, shared_number, monkeypatch):
    with time_machine.travel(T0, tick=False):
        assert send(threads["rep.alex"], template=templates["intro"]).status_code == 201
    # given: no worker picks the webhook up yet (the drain it wakes is recorded, not run)
    woken = []
    monkeypatch.setattr("chats.ingress.receive.drain_request", lambda: woken.append(True))
    # when: Meta posts Ada's answer
    response = post_webhook(client, text_body(number=shared_number, account=ada, text="Yes, Tuesday works",
                                              wamid="wamid.ADA.1", ts=int((T0 + M).timestamp())))
    # then: it is acknowledged and stored, and nothing was pushed or queued for a push
    assert response.status_code == 200 and woken == [True]
    assert WebhookEvent.objects.filter(processed_at__isnull=True).count() == 1
    assert push_service.received == []
    # when: the worker's drain processes it
    enqueued = []
    real_enqueue = jobs.enqueue
    monkeypatch.setattr(jobs, "enqueue", lambda name, *args, **kw: (enqueued.append((name, args)),
                                                                     real_enqueue(name, *args, **kw)))
    with TestCase.captureOnCommitCallbacks(execute=False) as after_commit:
        webhook_events_drain(slot=0, holds_slot=False)
    # then: inside the drain's transaction nothing is sent; the push task is queued once it commits
    assert push_service.received == [] and not any(name == jobs.PUSH_NOTIFY for name, _ in enqueued)
    for callback in after_commit:
        callback()
    assert [args for name, args in enqueued if name == jobs.PUSH_NOTIFY][0][0] == "message"
    # and only Alex, whose thread it reached, is told, without the message's words
    assert shown(devices["rep.alex"], push_service) == [{
        "title": "New message", "body": "Dr. Ada Lovelace wrote to you.", "kind": "message",
        "tag": f"thread-{threads['rep.alex'].pk}", "url": f"/chats/{threads['rep.alex'].pk}/"}]
    assert shown(devices["rep.blair"], push_service) == [] and shown(devices["rep.casey"], push_service) == []


def test_a_message_kept_as_unrouted_notifies_nobody(client, devices, push_service, threads, ada, shared_number):
    # no template was sent and nobody owns the window: three reps share the number, so it stays unrouted
    with time_machine.travel(T0, tick=False):
        hcp_says(client, account=ada, number=shared_number, text="Hello?", at=T0)
    assert push_service.received == []


def test_the_12_hour_warning_is_pushed_to_the_windows_owner_once_per_window(client, devices, push_service, threads,
                                                                            templates):
    alex_holds_adas_window(client, threads, templates)
    alex = devices["rep.alex"]
    # when: the beat runs before, at and after the warning falls due
    for hours in (11, 13, 14, 20):
        with on_commit():
            window_announce_due(now=T0 + M + hours * H)
    # then: Alex heard it once; nobody else did
    [warning] = shown(alex, push_service, "expiry")
    assert warning["title"] == "Conversation expiring" and "Dr. Ada Lovelace" in warning["body"]
    assert warning["url"] == f"/chats/{threads['rep.alex'].pk}/"
    assert shown(devices["rep.blair"], push_service, "expiry") == []
    # when: Ada writes again, the window rolls, and its own warning comes once more
    with time_machine.travel(T0 + 21 * H, tick=False):
        hcp_says(client, account=threads["rep.alex"].account, number=threads["rep.alex"].phone_number,
                 text="One more thing", at=T0 + 21 * H)
    for hours in (34, 40):
        with on_commit():
            window_announce_due(now=T0 + 21 * H + hours * H / 2)
    assert len(shown(alex, push_service, "expiry")) == 2


def test_a_rep_who_opened_the_locked_thread_is_told_when_the_owner_ends_it(client, devices, push_service, threads,
                                                                           templates):
    alex_holds_adas_window(client, threads, templates)
    blair_thread = threads["rep.blair"]
    # given: Blair opens the thread and finds it locked; Casey does not open it
    with time_machine.travel(T0 + 2 * M, tick=False), on_commit():
        assert api_client(blair_thread.user).post(f"/api/v1/threads/{blair_thread.pk}/read/").status_code == 200
    assert Thread.objects.get(pk=blair_thread.pk).lock_waiting_since is not None
    # when: Alex ends the conversation
    with time_machine.travel(T0 + 3 * M, tick=False), on_commit():
        response = api_client(threads["rep.alex"].user).post(f"/api/v1/threads/{threads['rep.alex'].pk}/end/")
    assert response.status_code == 200
    # then: Blair's device hears the lock ended, once; Casey and Alex hear nothing of it
    [note] = shown(devices["rep.blair"], push_service, "lock_ended")
    assert note == {"title": "You can write again", "kind": "lock_ended",
                    "body": "Another rep's conversation with Dr. Ada Lovelace has ended; you can chat with them now.",
                    "tag": f"thread-{blair_thread.pk}-lock", "url": f"/chats/{blair_thread.pk}/"}
    assert shown(devices["rep.casey"], push_service, "lock_ended") == []
    assert shown(devices["rep.alex"], push_service, "lock_ended") == []
    assert Thread.objects.get(pk=blair_thread.pk).lock_waiting_since is None
    # and the expiry that follows later tells nobody again
    with on_commit():
        window_announce_due(now=T0 + 30 * H)
    assert len(shown(devices["rep.blair"], push_service, "lock_ended")) == 1


def test_a_waiting_rep_is_told_once_when_the_window_expires(client, devices, push_service, threads, templates):
    alex_holds_adas_window(client, threads, templates)
    blair_thread = threads["rep.blair"]
    with time_machine.travel(T0 + 2 * H, tick=False), on_commit():
        api_client(blair_thread.user).post(f"/api/v1/threads/{blair_thread.pk}/read/")
    for hours in (23, 25, 26):  # before, at and after the expiry
        with on_commit():
            window_announce_due(now=T0 + M + hours * H)
    assert len(shown(devices["rep.blair"], push_service, "lock_ended")) == 1
    assert shown(devices["rep.casey"], push_service, "lock_ended") == []


def test_opening_a_thread_that_is_not_locked_is_no_wait(client, devices, push_service, threads, templates):
    alex_thread = threads["rep.alex"]
    alex_holds_adas_window(client, threads, templates)
    # the owner opening their own thread waits for nothing
    with time_machine.travel(T0 + 2 * M, tick=False), on_commit():
        api_client(alex_thread.user).post(f"/api/v1/threads/{alex_thread.pk}/read/")
    assert Thread.objects.get(pk=alex_thread.pk).lock_waiting_since is None
    # Blair waited, then opened the thread again after the window expired (the beat had not run): no wait left
    blair_thread = threads["rep.blair"]
    with time_machine.travel(T0 + 2 * M, tick=False), on_commit():
        api_client(blair_thread.user).post(f"/api/v1/threads/{blair_thread.pk}/read/")
    with time_machine.travel(T0 + 25 * H, tick=False), on_commit():
        api_client(blair_thread.user).post(f"/api/v1/threads/{blair_thread.pk}/read/")
    assert Thread.objects.get(pk=blair_thread.pk).lock_waiting_since is None
    with on_commit():
        window_announce_due(now=T0 + 26 * H)
    assert shown(devices["rep.blair"], push_service, "lock_ended") == []
