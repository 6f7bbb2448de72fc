"""A template send names the template as Meta's API does, by name and language, or by id; the
catalogue lists every template of the rep's WABAs with its status."""
import uuid
from datetime import timedelta

import pytest
import time_machine

from chats.models import Conversation, Message
from tests.api.conftest import api_client
from tests.conversations.conftest import T0, on_commit

pytestmark = pytest.mark.django_db


def send_template(thread, **body):
    with time_machine.travel(T0, tick=False), on_commit():
        return api_client(thread.user).post(f"/api/v1/threads/{thread.pk}/messages/", {
            "kind": "template", "client_id": str(uuid.uuid4()), **body}, format="json")


def test_by_name_in_the_hcps_language_or_the_one_asked(threads, templates, backend):
    alex = threads["rep.alex"]
    english = send_template(alex, template="intro_meeting_request")
    assert english.status_code == 201, english.json()
    assert Message.objects.get(pk=english.json()["id"]).template == templates["intro"]
    french = send_template(alex, template="intro_meeting_request", language="fr")
    assert french.status_code == 201, french.json()
    assert Message.objects.get(pk=french.json()["id"]).template == templates["intro_fr"]


def test_a_french_hcp_gets_the_french_template_by_name(marie, alex, shared_number, templates, backend):
    from chats.inbox.services import thread_get_or_create

    thread, _ = thread_get_or_create(user=alex, account=marie, phone_number_id=shared_number.pk)
    response = send_template(thread, template="intro_meeting_request")
    assert response.status_code == 201, response.json()
    assert Message.objects.get(pk=response.json()["id"]).template == templates["intro_fr"]


@pytest.mark.parametrize("body", [{"template": "no_such_template"}, {"template": "intro_meeting_request",
                                                                      "language": "de"}])
def test_an_unknown_name_or_language_is_template_not_found(threads, templates, body):
    response = send_template(threads["rep.alex"], **body)
    assert (response.status_code, response.json()["code"]) == (400, "template_not_found")


def test_a_name_that_exists_is_judged_by_the_rules(threads, templates, ada, shared_number, alex):
    # a template awaiting Meta's review is refused as such, not as a lookup error
    pending = send_template(threads["rep.alex"], template="launch_teaser")
    assert (pending.status_code, pending.json()["code"]) == (409, "template_not_approved")
    # a thread locked by another rep's window answers conversation_locked
    Conversation.objects.create(phone_number=shared_number, account=ada, owner=alex, last_inbound_at=T0,
                                window_expires_at=T0 + timedelta(hours=24))
    locked = send_template(threads["rep.blair"], template="intro_meeting_request")
    assert (locked.status_code, locked.json()["code"]) == (409, "conversation_locked")


def test_the_catalogue_lists_every_template_of_the_reps_wabas_with_its_status(threads, templates):
    response = api_client(threads["rep.alex"].user).get("/api/v1/templates/")
    assert response.status_code == 200
    listed = {(t["name"], t["language"]): t["status"] for t in response.json()}
    assert listed[("intro_meeting_request", "en")] == "APPROVED"
    assert listed[("launch_teaser", "en")] == "PENDING"
    assert len(listed) == len(templates)
