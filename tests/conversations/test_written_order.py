"""Threads, their message pages, the thread list's last message and the per-HCP export are in the
order messages were written: WhatsApp's time for the HCP's (however late Meta delivered them),
Rapport's for the rep's."""
import json
from datetime import timedelta

import pytest
import time_machine
from django.test import Client

from chats.models import Message
from tests.api.conftest import api_client
from tests.conversations.conftest import T0, hcp_says, on_commit, send
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def at(seconds):
    return time_machine.travel(T0 + timedelta(seconds=seconds), tick=False)


@pytest.fixture
def late_answer(client, threads, templates, ada, shared_number):
    """Alex's template at T0; Ada answers it at T0 + 30 s on her phone, but Meta delivers her answer
    only at T0 + 5 min, after Alex's follow-up of T0 + 2 min."""
    thread = threads["rep.alex"]
    with at(0):
        assert send(thread, template=templates["intro"]).status_code == 201
    with at(20):
        hcp_says(client, account=ada, number=shared_number, text="first answer", at=T0 + timedelta(seconds=20))
    with at(120), on_commit():
        assert send(thread, text="A follow-up").status_code == 201
    with at(300):
        hcp_says(client, account=ada, number=shared_number, text="written at 30 s", at=T0 + timedelta(seconds=30))
    return thread


def bodies(page) -> list[str]:
    return [m["body"] for m in page["results"]]


def test_the_thread_is_in_the_order_messages_were_written(late_answer):
    page = api_client(late_answer.user).get(f"/api/v1/threads/{late_answer.pk}/messages/").json()
    assert bodies(page)[1:] == ["first answer", "written at 30 s", "A follow-up"]
    late = page["results"][2]
    # written_at is WhatsApp's time for the HCP's message; created_at is when Rapport recorded it
    assert (late["written_at"], late["created_at"]) == ("2025-03-03T09:00:30Z", "2025-03-03T09:05:00Z")
    follow_up = page["results"][3]
    assert follow_up["written_at"] == follow_up["created_at"] == "2025-03-03T09:02:00Z"


def test_the_newest_page_and_the_thread_lists_last_message_follow_the_same_order(late_answer):
    client = api_client(late_answer.user)
    newest = client.get(f"/api/v1/threads/{late_answer.pk}/messages/?latest=1&page_size=2").json()
    assert bodies(newest) == ["written at 30 s", "A follow-up"]
    listed = next(t for t in client.get("/api/v1/threads/").json()["results"] if t["id"] == late_answer.pk)
    assert listed["last_message"]["body_preview"] == "A follow-up"


def test_pages_walk_every_message_once_in_order_across_messages_of_the_same_second(
        client, threads, templates, ada, shared_number):
    # given a template, then eight HCP messages written in two whole seconds, arriving shuffled
    thread = threads["rep.alex"]
    with at(0):
        assert send(thread, template=templates["intro"]).status_code == 201
    for n, (written, arrives) in enumerate([(5, 50), (4, 10), (5, 11), (4, 60), (5, 12), (4, 13), (4, 70), (5, 14)]):
        with at(arrives):
            hcp_says(client, account=ada, number=shared_number, text=f"m{n} at {written}",
                     at=T0 + timedelta(seconds=written))
    expected = list(Message.objects.filter(thread=thread).order_by("id"))
    expected.sort(key=lambda m: (m.written_at, m.id))
    rep = api_client(thread.user)
    # when walking forwards two at a time, and backwards from the newest page
    forward, url = [], f"/api/v1/threads/{thread.pk}/messages/?page_size=2"
    while url:
        page = rep.get(url).json()
        forward += [m["id"] for m in page["results"]]
        url = page["next"]
    backward, url = [], f"/api/v1/threads/{thread.pk}/messages/?latest=1&page_size=2"
    while url:
        page = rep.get(url).json()
        backward = [m["id"] for m in page["results"]] + backward
        url = page["previous"]
    # then both walks give every message exactly once, in written order
    assert forward == backward == [m.id for m in expected]


def test_the_per_hcp_export_is_in_written_order_with_the_recorded_time_beside(late_answer, ada):
    staff = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff)
    rows = json.loads(b"".join(client.get(f"/api/v1/accounts/{ada.pk}/history/?format=json").streaming_content))
    messages = [r for r in rows if r["record"] == "message" and r["thread_id"] == late_answer.pk]
    assert [r["body"] for r in messages][1:] == ["first answer", "written at 30 s", "A follow-up"]
    late = messages[2]
    assert (late["at"], late["recorded_at"]) == ("2025-03-03T09:00:30+00:00", "2025-03-03T09:05:00+00:00")


def test_the_live_event_says_when_the_message_was_written(client, threads, templates, ada, shared_number):
    from chats.realtime.payloads import message_payload

    with at(300):
        hcp_says(client, account=ada, number=shared_number, text="late", at=T0 + timedelta(seconds=30))
    message = Message.objects.get(body="late")
    payload = message_payload(message)["message"]
    assert (payload["written_at"], payload["created_at"]) == ("2025-03-03T09:00:30Z", "2025-03-03T09:05:00Z")
