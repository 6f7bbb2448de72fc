"""An HCP's rich messages stay readable: a location (with a map link), contact cards, replies to
buttons, lists and flows, and types Rapport cannot show; in the thread, the API and the export."""
import json

import pytest

from chats.compliance.history import history_rows
from chats.models import Message
from tests.api.conftest import api_client
from tests.factories import ThreadFactory
from tests.whatsapp.conftest import post_webhook

pytestmark = pytest.mark.django_db


@pytest.fixture
def thread(alex, ada, solo_number):
    return ThreadFactory(user=alex, account=ada, phone_number=solo_number)


def hcp_sends(client, thread, wa_type: str, content, *, wamid: str) -> Message:
    """One HCP message of `wa_type` with its content object, as Meta's signed webhook carries it."""
    number = thread.phone_number
    message = {"from": thread.account.wa_id, "id": wamid, "timestamp": "1726000100", "type": wa_type,
               wa_type: content}
    body = {"object": "whatsapp_business_account", "entry": [{"id": number.waba.waba_id, "changes": [{
        "field": "messages",
        "value": {"messaging_product": "whatsapp",
                  "metadata": {"display_phone_number": number.display_phone_number,
                               "phone_number_id": number.phone_number_id},
                  "contacts": [{"profile": {"name": "Ada"}, "wa_id": thread.account.wa_id}],
                  "messages": [message]}}]}]}
    assert post_webhook(client, body).status_code == 200
    return Message.objects.get(wamid=wamid)


def in_api(thread, message) -> dict:
    page = api_client(thread.user).get(f"/api/v1/threads/{thread.pk}/messages/").json()
    return next(m for m in page["results"] if m["id"] == message.pk)


def test_a_location_reads_as_a_place_with_a_map_link(client, thread):
    message = hcp_sends(client, thread, "location", {
        "latitude": 48.8462, "longitude": 2.3447, "name": "Hôpital Cochin", "address": "27 Rue du Fg St Jacques, Paris",
        "url": "https://www.aphp.fr/"}, wamid="wamid.LOC1")
    assert (message.kind, message.thread_id) == ("location", thread.pk)
    shown = in_api(thread, message)
    assert shown["body"] == "📍 Hôpital Cochin, 27 Rue du Fg St Jacques, Paris"
    assert shown["media"] == {"name": "Hôpital Cochin", "address": "27 Rue du Fg St Jacques, Paris",
                              "latitude": 48.8462, "longitude": 2.3447,
                              "map_url": "https://www.google.com/maps?q=48.8462,2.3447", "url": "https://www.aphp.fr/"}


def test_a_pin_without_a_name_reads_as_its_coordinates(client, thread):
    message = hcp_sends(client, thread, "location", {"latitude": "51.5", "longitude": "-0.12"}, wamid="wamid.LOC2")
    assert message.body == "📍 51.5, -0.12"
    assert message.media["map_url"] == "https://www.google.com/maps?q=51.5,-0.12"


def test_a_location_with_nonsense_coordinates_gets_no_map_link(client, thread):
    message = hcp_sends(client, thread, "location", {"latitude": 900, "longitude": "east", "name": "Clinic"},
                        wamid="wamid.LOC3")
    assert message.body == "📍 Clinic" and "map_url" not in message.media


def test_contact_cards_read_as_names_phones_emails_and_organisation(client, thread):
    message = hcp_sends(client, thread, "contacts", [
        {"name": {"formatted_name": "Dr. Omar Farouk", "first_name": "Omar", "last_name": "Farouk"},
         "org": {"company": "St Thomas'", "department": "Cardiology"},
         "phones": [{"phone": "+44 7700 900456", "type": "CELL", "wa_id": "447700900456"}],
         "emails": [{"email": "omar@example.org", "type": "WORK"}]},
        {"name": {"first_name": "Lin", "last_name": "Wei"}, "phones": [{"phone": "+86 10 5555 0000"}]},
    ], wamid="wamid.VCARD")
    assert message.kind == "contacts"
    assert message.body == ("👤 2 contact cards\n"
                            "Dr. Omar Farouk · St Thomas' — Cardiology · +44 7700 900456 · omar@example.org\n"
                            "Lin Wei · +86 10 5555 0000")
    card = in_api(thread, message)["media"]["contacts"][0]
    assert card == {"name": "Dr. Omar Farouk", "org": "St Thomas' — Cardiology",
                    "phones": [{"phone": "+44 7700 900456", "type": "CELL", "wa_id": "447700900456"}],
                    "emails": [{"email": "omar@example.org", "type": "WORK"}], "urls": []}


@pytest.mark.parametrize("content,body", [
    ({"type": "button_reply", "button_reply": {"id": "yes", "title": "Yes please"}}, "Yes please"),
    ({"type": "list_reply", "list_reply": {"id": "slot-2", "title": "Thursday 10:00", "description": "at the clinic"}},
     "Thursday 10:00 — at the clinic"),
    ({"type": "nfm_reply", "nfm_reply": {"name": "flow", "body": "Sent",
                                         "response_json": json.dumps({"flow_token": "t-1", "visit_day": "Tuesday",
                                                                      "samples": ["Cholecap 10 mg"]})}},
     '📝 form sent\nvisit_day: Tuesday\nsamples: ["Cholecap 10 mg"]'),
    ({"type": "nfm_reply", "nfm_reply": {"name": "address_message", "response_json": "not json"}},
     "📝 address sent"),
    ({"type": "call_permission_reply", "call_permission_reply": {"response": "accept"}},
     "[interactive reply — not shown in Rapport]"),
], ids=["button", "list", "flow", "address", "unknown"])
def test_interactive_replies_read_as_what_the_hcp_chose(content, body, client, thread):
    message = hcp_sends(client, thread, "interactive", content, wamid=f"wamid.INT.{content['type']}")
    assert message.body == body
    assert message.kind == ("unsupported" if body.startswith("[") else "text")


@pytest.mark.parametrize("wa_type,content,body", [
    ("unsupported", {}, "[a message type WhatsApp could not pass on — not shown in Rapport]"),
    ("hologram", {"beam": 1}, "[hologram — not shown in Rapport]"),
    ("contacts", [], "[contact card — not shown in Rapport]"),
], ids=["unsupported", "new-type", "empty-contacts"])
def test_what_rapport_cannot_show_says_so(wa_type, content, body, client, thread):
    message = hcp_sends(client, thread, wa_type, content, wamid=f"wamid.U.{wa_type}")
    assert (message.kind, message.body) == ("unsupported", body)


def test_the_export_keeps_them_readable(client, thread):
    hcp_sends(client, thread, "location", {"latitude": 51.5, "longitude": -0.12, "name": "Clinic"}, wamid="wamid.E1")
    hcp_sends(client, thread, "contacts", [{"name": {"formatted_name": "Dr. Lin Wei"}}], wamid="wamid.E2")
    rows = {r["wamid"]: r for r in history_rows(account=thread.account) if r["record"] == "message"}
    assert rows["wamid.E1"]["body"] == "📍 Clinic"
    assert rows["wamid.E1"]["details"]["map_url"] == "https://www.google.com/maps?q=51.5,-0.12"
    assert rows["wamid.E2"]["body"] == "👤 contact card\nDr. Lin Wei"
