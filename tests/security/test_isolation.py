"""Nobody where they don't belong: another rep's thread (REST, WebSocket, admin), no license."""
import json
import uuid

import pytest

from tests.realtime.helpers import flush_channel_layer
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.test import Client

from chats.realtime.events import publish_on_commit
from chats.models import Message
from config.asgi import application
from tests.factories import UserFactory
from tests.whatsapp.conftest import post_webhook, text_body


def api(token):
    return Client(HTTP_AUTHORIZATION=f"Token {token}")


@pytest.mark.django_db
def test_rep_cannot_read_or_send_in_another_reps_thread_over_rest(two_reps):
    client, theirs = api(two_reps["alex_token"]), two_reps["blair_thread"].pk
    # when: Alex reads Blair's thread, its messages, and tries to send and end in it
    answers = [
        client.get(f"/api/v1/threads/{theirs}/"),
        client.get(f"/api/v1/threads/{theirs}/messages/"),
        client.post(f"/api/v1/threads/{theirs}/messages/", {"kind": "text", "text": "hi", "client_id": str(uuid.uuid4())},
                    content_type="application/json"),
        client.post(f"/api/v1/threads/{theirs}/end/"),
        client.get(f"/api/v1/accounts/{two_reps['grace'].pk}/"),
    ]
    # then: every answer is 404 (nothing says the thread exists) and nothing was queued
    assert [r.status_code for r in answers] == [404] * 5
    assert not Message.objects.exists()
    assert theirs not in [t["id"] for t in client.get("/api/v1/threads/").json()["results"]]


@pytest.mark.django_db
def test_a_rep_taken_off_the_account_team_loses_the_thread_and_its_hcp(two_reps, settings):
    settings.WHATSAPP_BACKEND = "sandbox"
    client, mine, ada = api(two_reps["alex_token"]), two_reps["alex_thread"], two_reps["ada"]
    Message.objects.create(thread=mine, account=ada, phone_number=mine.phone_number, direction="inbound", body="Hello Alex")
    # given Alex was taken off Ada's account team
    ada.team.remove(two_reps["alex"])
    # when Alex reads the thread, its messages, and tries to send in it and end it
    answers = [
        client.get(f"/api/v1/threads/{mine.pk}/"),
        client.get(f"/api/v1/threads/{mine.pk}/messages/"),
        client.post(f"/api/v1/threads/{mine.pk}/messages/", {"kind": "text", "text": "hi", "client_id": str(uuid.uuid4())},
                    content_type="application/json"),
        client.post(f"/api/v1/threads/{mine.pk}/end/"),
    ]
    # then every answer is 404, nothing was queued, and the thread is gone from the list and the pages
    assert [r.status_code for r in answers] == [404] * 4
    assert not Message.objects.filter(direction="outbound").exists()
    assert mine.pk not in [t["id"] for t in client.get("/api/v1/threads/").json()["results"]]
    browser = Client()
    browser.force_login(two_reps["alex"])
    assert browser.get(f"/chats/{mine.pk}/").status_code == 404
    assert "Dr. Ada" not in browser.get("/chats/").content.decode()


@pytest.mark.django_db
def test_an_hcp_message_never_reaches_a_rep_who_may_not_see_the_hcp(two_reps, client):
    # given Alex is the only rep on the number, and is no longer on Ada's team
    ada, number = two_reps["ada"], two_reps["alex_number"]
    ada.team.remove(two_reps["alex"])
    # when Ada writes to that number
    post_webhook(client, text_body(number=number, account=ada, text="Are you there?", wamid="wamid.TEAM1"))
    # then the message is kept as unrouted, and says why
    message = Message.objects.get(wamid="wamid.TEAM1")
    assert message.thread is None
    assert message.unrouted_reason == "no rep assigned to this business number may see this HCP"


@pytest.mark.django_db
def test_on_a_shared_number_the_answer_goes_to_a_rep_who_may_still_see_the_hcp(two_reps, client):
    from chats.models import Conversation

    # given Ada's number is shared by Alex and Blair, Alex sent the latest template, and then
    # Alex was taken off Ada's team while Blair joined it
    ada, number, alex, blair = two_reps["ada"], two_reps["alex_number"], two_reps["alex"], two_reps["blair"]
    number.assignees.add(blair)
    ada.team.add(blair)
    ada.team.remove(alex)
    Conversation.objects.create(phone_number=number, account=ada, last_template_by=alex)
    # when Ada answers
    post_webhook(client, text_body(number=number, account=ada, text="Yes", wamid="wamid.TEAM2"))
    # then not Alex but Blair, on the team and on the number, gets it
    message = Message.objects.get(wamid="wamid.TEAM2")
    assert message.thread is not None and message.thread.user == blair


@pytest.mark.django_db
def test_non_staff_rep_is_sent_to_the_admin_login(two_reps):
    client = Client()
    client.force_login(two_reps["alex"])
    for url in ["/admin/", "/admin/chats/message/", f"/admin/chats/thread/{two_reps['blair_thread'].pk}/change/"]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), url


@pytest.mark.django_db(transaction=True)
def test_user_without_license_reaches_no_chat_endpoint(two_reps):
    drew = UserFactory(username="sec.drew", licensed=False)
    from tests.factories import api_token

    key = api_token(drew)
    client = api(key)
    urls = ["/api/v1/accounts/", f"/api/v1/accounts/{two_reps['ada'].pk}/", "/api/v1/threads/",
            f"/api/v1/threads/{two_reps['alex_thread'].pk}/", f"/api/v1/threads/{two_reps['alex_thread'].pk}/messages/",
            "/api/v1/templates/", "/api/v1/media/"]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 403 and response.json()["code"] == "license_required", url
    response = client.post("/api/v1/restricted-phrases/check/", {"text": "x"}, content_type="application/json")
    assert response.status_code == 403 and response.json()["code"] == "license_required"
    # and: over the WebSocket too
    async def connect():
        communicator = WebsocketCommunicator(application, "/ws/chat/", headers=[(b"origin", b"http://testserver")],
                                             subprotocols=["rapport.v1", f"token.{key}"])
        connected, code = await communicator.connect()
        if connected:  # accepted (to answer the subprotocol), then closed with the reason
            output = await communicator.receive_output(timeout=5)
            code = output.get("code")
        return code
    assert async_to_sync(connect)() == 4403


@pytest.mark.django_db(transaction=True)
def test_websocket_hears_nothing_of_another_reps_hcp(two_reps):
    async def scenario():
        communicator = WebsocketCommunicator(application, "/ws/chat/", headers=[(b"origin", b"http://testserver")],
                                             subprotocols=["rapport.v1", f"token.{two_reps['alex_token']}"])
        connected, _ = await communicator.connect()
        assert connected
        assert json.loads(await communicator.receive_from(timeout=5))["type"] == "hello"
        # when: Blair's HCP writes (stored and published to Blair), then a marker is published to Alex
        await _sync_ingest_then_marker()
        frame = json.loads(await communicator.receive_from(timeout=5))
        await communicator.disconnect()
        return frame

    from channels.db import database_sync_to_async

    @database_sync_to_async
    def _sync_ingest_then_marker():
        response = post_webhook(Client(), text_body(number=two_reps["blair_number"], account=two_reps["grace"],
                                                    text="for Blair only", wamid="wamid.SEC1"))
        assert response.status_code == 200
        with transaction.atomic():
            publish_on_commit(two_reps["alex"].pk, "thread.state", {"thread": two_reps["alex_thread"].pk, "marker": 1})

    frame = async_to_sync(scenario)()
    # then: the next frame Alex gets is the marker: Blair's message never reached Alex's socket
    assert Message.objects.get(wamid="wamid.SEC1").thread == two_reps["blair_thread"]
    assert frame == {"type": "thread.state", "thread": two_reps["alex_thread"].pk, "marker": 1}
    flush_channel_layer()
