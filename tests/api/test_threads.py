"""Threads: list, get-or-create, detail, read marker, messages; never another rep's data."""
from datetime import timedelta

import pytest
from django.db import IntegrityError

from chats.inbox.services import thread_get_or_create
from chats.models import Message, Thread
from tests.api.conftest import MessageFactory, api_client
from tests.factories import AccountFactory, PhoneNumberFactory, TemplateFactory, ThreadFactory, UserFactory

pytestmark = pytest.mark.django_db


# --- POST /threads/ --------------------------------------------------------------


def test_create_thread_201_then_existing_200(alex, ada, shared_number):
    client = api_client(alex)
    # when: Alex starts a chat with Ada (one number, so no need to name it)
    created = client.post("/api/v1/threads/", {"account": ada.id}, format="json")
    # then: 201 with the new thread; asking again answers 200 with the same one
    assert created.status_code == 201
    body = created.json()
    assert body["account"]["id"] == ada.id
    assert body["phone_number"]["id"] == shared_number.id
    assert body["state"]["window"]["status"] == "none"
    again = client.post("/api/v1/threads/", {"account": ada.id, "phone_number": shared_number.id}, format="json")
    assert again.status_code == 200
    assert again.json()["id"] == body["id"]
    assert Thread.objects.filter(user=alex, account=ada).count() == 1


def test_create_thread_needs_a_number_choice_when_user_has_several(alex, ada, shared_number, waba):
    second = PhoneNumberFactory(waba=waba, reps=[alex])
    client = api_client(alex)
    response = client.post("/api/v1/threads/", {"account": ada.id}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "phone_number_required"
    chosen = client.post("/api/v1/threads/", {"account": ada.id, "phone_number": second.id}, format="json")
    assert chosen.status_code == 201
    assert chosen.json()["phone_number"]["id"] == second.id


def test_create_thread_without_any_number(ada):
    loner = UserFactory()
    ada.team.add(loner)
    response = api_client(loner).post("/api/v1/threads/", {"account": ada.id}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "no_phone_number"


def test_create_thread_on_someone_elses_number(alex, ada, shared_number, waba):
    foreign = PhoneNumberFactory(waba=waba, reps=[UserFactory()])
    response = api_client(alex).post("/api/v1/threads/", {"account": ada.id, "phone_number": foreign.id}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "phone_number_not_assigned"


def test_create_thread_with_invisible_account_is_404(alex, shared_number):
    hidden = AccountFactory()
    response = api_client(alex).post("/api/v1/threads/", {"account": hidden.id}, format="json")
    assert response.status_code == 404
    assert not Thread.objects.exists()


def test_create_thread_validates_input(alex, shared_number):
    response = api_client(alex).post("/api/v1/threads/", {"account": "abc"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "account" in response.json()["errors"]


def test_get_or_create_recovers_from_a_concurrent_insert(alex, ada, shared_number, monkeypatch):
    # given: another request inserts the same thread between our read and our insert
    winner = ThreadFactory(user=alex, account=ada, phone_number=shared_number)
    real_filter = Thread.objects.filter
    calls = {"n": 0}

    def racing_filter(*args, **kwargs):
        calls["n"] += 1
        return real_filter(pk=-1) if calls["n"] == 1 else real_filter(*args, **kwargs)

    monkeypatch.setattr(Thread.objects, "filter", racing_filter)
    real_create = Thread.objects.create

    def create(**kwargs):
        real_create(**kwargs)  # the unique constraint refuses the duplicate
        raise AssertionError("unreachable")

    monkeypatch.setattr(Thread.objects, "create", create)
    # when
    thread, created = thread_get_or_create(user=alex, account=ada)
    # then: the loser reads the winner's row
    assert (thread, created) == (winner, False)


def test_duplicate_thread_is_refused_by_the_database(alex, ada, shared_number):
    ThreadFactory(user=alex, account=ada, phone_number=shared_number)
    with pytest.raises(IntegrityError):
        Thread.objects.create(user=alex, account=ada, phone_number=shared_number)


# --- GET /threads/ ---------------------------------------------------------------


def test_thread_list_latest_activity_first_with_last_message_and_unread(alex, blair, ada, shared_number, now):
    grace = AccountFactory(name="Dr. Grace", team=[alex])
    quiet = AccountFactory(name="Dr. Quiet", team=[alex])
    older = ThreadFactory(user=alex, account=grace, phone_number=shared_number, last_activity_at=now - timedelta(hours=2))
    newer = ThreadFactory(user=alex, account=ada, phone_number=shared_number, last_activity_at=now,
                          last_read_at=now - timedelta(minutes=30))
    empty = ThreadFactory(user=alex, account=quiet, phone_number=shared_number)
    ThreadFactory(user=blair, account=ada, phone_number=shared_number, last_activity_at=now)  # not Alex's
    # given: in the newer thread, one inbound before the read marker, two after, one outbound after
    for minutes, direction, body in [(60, "inbound", "old"), (20, "inbound", "new 1"), (10, "inbound", "new 2"),
                                     (5, "outbound", "my answer")]:
        m = MessageFactory(thread=newer, direction=direction, body=body)
        Message.objects.filter(pk=m.pk).update(created_at=now - timedelta(minutes=minutes))
    MessageFactory(thread=older, direction="inbound", body="x" * 300)
    # when
    response = api_client(alex).get("/api/v1/threads/")
    # then
    assert response.status_code == 200
    results = response.json()["results"]
    assert [t["id"] for t in results] == [newer.id, older.id, empty.id]
    assert results[0]["unread_count"] == 2
    assert results[0]["last_message"]["body_preview"] == "my answer"
    assert results[0]["last_message"]["direction"] == "outbound"
    assert results[0]["account"] == {"id": ada.id, "name": ada.name, "whatsapp_number": ada.whatsapp_number,
                                     "whatsapp_user_id": None, "whatsapp_username": "", "language": "en"}
    assert results[1]["unread_count"] == 1  # never read: every inbound counts
    assert len(results[1]["last_message"]["body_preview"]) == 120
    assert results[2]["last_message"] is None
    assert results[2]["unread_count"] == 0


def test_mark_read_clears_unread(alex, ada, shared_number):
    thread = ThreadFactory(user=alex, account=ada, phone_number=shared_number)
    MessageFactory(thread=thread, direction="inbound")
    client = api_client(alex)
    assert client.get("/api/v1/threads/").json()["results"][0]["unread_count"] == 1
    response = client.post(f"/api/v1/threads/{thread.id}/read/")
    assert response.status_code == 200
    assert response.json()["id"] == thread.id
    assert client.get("/api/v1/threads/").json()["results"][0]["unread_count"] == 0


# --- GET /threads/{id}/ and messages ---------------------------------------------


def test_another_reps_thread_is_404_everywhere(alex, blair, ada, shared_number):
    theirs = ThreadFactory(user=blair, account=ada, phone_number=shared_number)
    MessageFactory(thread=theirs, body="Blair's secret")
    client = api_client(alex)
    for path in (f"/api/v1/threads/{theirs.id}/", f"/api/v1/threads/{theirs.id}/messages/",
                 f"/api/v1/templates/?thread={theirs.id}"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Blair's secret" not in response.content.decode()
    assert client.post(f"/api/v1/threads/{theirs.id}/read/").status_code == 404


def test_messages_oldest_first_only_own_thread_with_reply_and_template(alex, blair, ada, shared_number, waba):
    mine = ThreadFactory(user=alex, account=ada, phone_number=shared_number)
    theirs = ThreadFactory(user=blair, account=ada, phone_number=shared_number)
    template = TemplateFactory(waba=waba, name="intro_meeting_request")
    first = MessageFactory(thread=mine, direction="outbound", kind="template", template=template, sender=alex,
                           body="Hello Dr. Ada Lovelace, this is Alex Morgan.")
    answer = MessageFactory(thread=mine, direction="inbound", status="received", body="Yes, please " * 10,
                            reply_to=first)
    failed = MessageFactory(thread=mine, direction="outbound", sender=alex, status="failed",
                            failure_code="window_closed", failure_reason="The 24-hour window is closed.")
    MessageFactory(thread=theirs, body="Blair's message")
    response = api_client(alex).get(f"/api/v1/threads/{mine.id}/messages/")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [m["id"] for m in results] == [first.id, answer.id, failed.id]
    assert results[0]["template"]["name"] == "intro_meeting_request"
    assert results[0]["sender"] == {"id": alex.id, "username": "rep.alex", "full_name": "Alex Morgan"}
    assert results[1]["reply_to"] == {"id": first.id, "wamid": first.wamid, "direction": "outbound", "quote": first.body}
    assert results[1]["sender"] is None
    assert results[2]["failure_code"] == "window_closed"
    assert results[2]["failure_reason"] == "The 24-hour window is closed."


def test_each_message_shows_metas_wamid_once_meta_answered(alex, ada, shared_number):
    # given a message Meta took (it has a wamid) and one still queued (no answer from Meta yet)
    thread = ThreadFactory(user=alex, account=ada, phone_number=shared_number)
    sent = MessageFactory(thread=thread, direction="outbound", sender=alex, status="sent", wamid="wamid.HBgLMTIzNDU2")
    queued = MessageFactory(thread=thread, direction="outbound", sender=alex, status="queued", wamid=None)
    # when the rep reads the thread
    results = api_client(alex).get(f"/api/v1/threads/{thread.id}/messages/").json()["results"]
    # then each message carries Meta's id, or null while Meta has not answered
    assert {m["id"]: m["wamid"] for m in results} == {sent.id: "wamid.HBgLMTIzNDU2", queued.id: None}


def test_messages_cursor_pages(alex, ada, shared_number):
    thread = ThreadFactory(user=alex, account=ada, phone_number=shared_number)
    ids = [MessageFactory(thread=thread).id for _ in range(5)]
    client = api_client(alex)
    page = client.get(f"/api/v1/threads/{thread.id}/messages/", {"page_size": 2}).json()
    seen = [m["id"] for m in page["results"]]
    while page["next"]:
        page = client.get(page["next"]).json()
        seen += [m["id"] for m in page["results"]]
    assert seen == ids
