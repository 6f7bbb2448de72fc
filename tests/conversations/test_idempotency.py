"""Idempotency: the Idempotency-Key header works like client_id, a key reused for another message is
refused (not silently answered with the old one), and End and Consent Capture can be repeated safely."""
import uuid
from datetime import timedelta

import pytest
import time_machine

from chats.models import AuditEvent, Message
from consent.models import ConsentEvent
from tests.api.conftest import api_client
from tests.conversations.conftest import T0, on_commit
from tests.conversations.test_sending import open_window  # noqa: F401  (fixture)
from tests.factories import ConsentMethodFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def thread(threads):
    return threads["rep.alex"]


def post(thread, body, **headers):
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False), on_commit():
        return api_client(thread.user).post(f"/api/v1/threads/{thread.pk}/messages/", body, format="json",
                                            **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()})


@pytest.mark.parametrize("key", ["3f2b8c4e-9a1d-4e6f-b7c2-5d8e1a0f6b93", "order-2025-03-03-0001"])
def test_the_idempotency_key_header_works_like_client_id(open_window, backend, key):
    first = post(open_window, {"kind": "text", "text": "The study is attached."}, **{"Idempotency-Key": key})
    again = post(open_window, {"kind": "text", "text": "The study is attached."}, **{"Idempotency-Key": key})
    assert (first.status_code, again.status_code) == (201, 200), (first.json(), again.json())
    assert first.json()["id"] == again.json()["id"]
    assert Message.objects.filter(thread=open_window, body="The study is attached.").count() == 1


@pytest.mark.parametrize("how", ["client_id", "header"])
def test_a_key_reused_for_another_message_is_422_and_sends_nothing(open_window, backend, how):
    key = str(uuid.uuid4())
    keyed = (lambda body: post(open_window, body | {"client_id": key})) if how == "client_id" else \
        (lambda body: post(open_window, body, **{"Idempotency-Key": key}))
    first = keyed({"kind": "text", "text": "Tuesday at 10?"})
    sent = len(backend.sent)
    reused = keyed({"kind": "text", "text": "Wednesday at 11?"})
    body = reused.json()
    assert (reused.status_code, body["code"], body["message"]) == (422, "idempotency_key_reused", first.json()["id"])
    assert not Message.objects.filter(body="Wednesday at 11?").exists() and len(backend.sent) == sent


def test_a_send_needs_a_key_and_two_keys_must_agree(open_window):
    missing = post(open_window, {"kind": "text", "text": "hi"})
    assert missing.status_code == 400 and "client_id" in missing.json()["errors"]
    both = post(open_window, {"kind": "text", "text": "hi", "client_id": str(uuid.uuid4())},
                **{"Idempotency-Key": str(uuid.uuid4())})
    assert both.status_code == 400 and "client_id" in both.json()["errors"]


def test_end_twice_answers_the_first_end_again(open_window, templates, backend):
    def end():
        with time_machine.travel(T0 + timedelta(minutes=10), tick=False), on_commit():
            return api_client(open_window.user).post(f"/api/v1/threads/{open_window.pk}/end/")

    first, again = end(), end()
    assert (first.status_code, again.status_code) == (200, 200), again.json()
    assert first.json()["closing_message"]["id"] == again.json()["closing_message"]["id"]
    assert again.json()["state"] == first.json()["state"]
    assert Message.objects.filter(thread=open_window, template=templates["closing"]).count() == 1
    assert AuditEvent.objects.filter(kind="window.ended", thread=open_window).count() == 1


def test_end_by_another_rep_or_without_a_window_is_still_refused(threads, ada, templates):
    blair = threads["rep.blair"]
    response = api_client(blair.user).post(f"/api/v1/threads/{blair.pk}/end/")
    assert (response.status_code, response.json()["code"]) == (409, "window_closed")


def test_consent_capture_twice_records_and_sends_once(alex, ada, thread, templates, backend):
    ConsentMethodFactory()
    ada.consent.delete()

    def capture():
        with on_commit():
            return api_client(alex).post(f"/api/v1/accounts/{ada.pk}/consent/", {"method": "verbal"}, format="json")

    first, again = capture(), capture()
    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json()["confirmation"]["id"] == again.json()["confirmation"]["id"]
    assert ConsentEvent.objects.filter(account=ada).count() == 1 and len(backend.sent) == 1
