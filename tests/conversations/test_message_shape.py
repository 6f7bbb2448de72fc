"""One message shape: the REST answer, the `message.created` event and the export's message row
say the same thing about a message."""
import json
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.test import Client

from chats.models import Message
from tests.api.conftest import api_client
from tests.conversations.conftest import T0, hcp_says, send
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

FIELDS = {"id", "thread", "direction", "kind", "body", "status", "written_at", "created_at", "sent_at",
          "delivered_at", "read_at", "failed_at", "failure_code", "failure_reason", "wamid", "client_id", "sender",
          "template", "reply_to", "media", "reactions", "pricing", "safety_case"}


def test_rest_the_live_event_and_the_export_show_one_shape(client, threads, templates, ada, shared_number, alex):
    thread = threads["rep.alex"]
    # given a template, the HCP's answer and the rep's reply quoting it
    with time_machine.travel(T0, tick=False):
        template = send(thread, template=templates["intro"]).json()
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        hcp_says(client, account=ada, number=shared_number, text="Yes please", at=T0 + timedelta(minutes=1))
    answer = Message.objects.get(body="Yes please")
    key = str(uuid.uuid4())
    with time_machine.travel(T0 + timedelta(minutes=2), tick=False):
        reply = send(thread, text="Here it is", reply_to=answer.pk, client_id=key).json()

    # REST: the list and the send's answer carry every field, nested objects included
    listed = {m["id"]: m for m in api_client(alex).get(f"/api/v1/threads/{thread.pk}/messages/").json()["results"]}
    assert set(listed[reply["id"]]) == FIELDS
    assert listed[template["id"]]["template"] == {"id": templates["intro"].pk, "name": "intro_meeting_request",
                                                  "display_name": "Intro meeting request", "language": "en"}
    assert listed[reply["id"]]["sender"] == {"id": alex.pk, "username": alex.username,
                                             "full_name": alex.get_full_name()}
    assert listed[reply["id"]]["reply_to"]["id"] == answer.pk
    assert listed[reply["id"]]["reply_to"]["wamid"] == answer.wamid
    assert (listed[reply["id"]]["client_id"], listed[reply["id"]]["thread"]) == (key, thread.pk)
    # the send's own answer is the same object as the list's (statuses aside, which move on)
    moving = {"status", "sent_at", "delivered_at", "read_at", "wamid"}
    assert {k: v for k, v in reply.items() if k not in moving} == \
        {k: v for k, v in listed[reply["id"]].items() if k not in moving}

    # the live event: the same object, field for field
    from chats.realtime.payloads import message_payload

    event = message_payload(Message.objects.select_related("reply_to", "sender", "template").get(pk=reply["id"]))
    assert event["message"] == listed[reply["id"]]
    assert json.loads(json.dumps(event)) == event

    # the export's message row: the same values under its columns
    staff = UserFactory(is_staff=True, is_superuser=True)
    web = Client()
    web.force_login(staff)
    rows = json.loads(b"".join(web.get(f"/api/v1/accounts/{ada.pk}/history/?format=json").streaming_content))
    row = next(r for r in rows if r["record"] == "message" and r["id"] == reply["id"])
    shown = listed[reply["id"]]
    assert (row["thread_id"], row["direction"], row["kind"], row["body"], row["status"]) == (
        shown["thread"], shown["direction"], shown["kind"], shown["body"], shown["status"])
    assert (row["reply_to_id"], row["client_id"], row["actor"]) == (answer.pk, key, alex.username)
