"""Business-scoped user ids (BSUID): HCPs known by number, by user id or both, through the real webhook path
and the fake Graph API. Bodies are written here in Meta's documented 2026 shapes."""
import json

import pytest

from chats.delivery.handoff import message_deliver
from chats.models import Account, AuditEvent, Message, Thread
from chats.whatsapp import client as graph_client
from consent.models import ConsentRecord
from tests.delivery.test_outbound import queue
from tests.factories import AccountFactory, PhoneNumberFactory, ThreadFactory, WabaFactory
from tests.whatsapp.conftest import post_webhook, run_on_commit

pytestmark = pytest.mark.django_db

ADA_USER_ID = "US.13491208655302741918"
ADA_PARENT_ID = "US.ENT.11815799212886844830"


def envelope(number, value: dict, field: str = "messages") -> dict:
    return {"object": "whatsapp_business_account", "entry": [{"id": number.waba.waba_id, "changes": [{
        "field": field, "value": {"messaging_product": "whatsapp", "metadata": {
            "display_phone_number": number.display_phone_number, "phone_number_id": number.phone_number_id}} | value}]}]}


def hcp_text(number, *, wamid, text="Hello", wa_id=None, user_id=None, parent_user_id=None, username=None,
             name="Ada", ts=1_700_000_000) -> dict:
    """An HCP's text as Meta posts it in 2026: `from` only when Meta shares the number; the user id always."""
    contact = {"profile": {"name": name} | ({"username": username} if username else {})}
    message = {"id": wamid, "timestamp": str(ts), "type": "text", "text": {"body": text}}
    if wa_id:
        contact["wa_id"], message["from"] = wa_id, wa_id
    if user_id:
        contact["user_id"], message["from_user_id"] = user_id, user_id
    if parent_user_id:
        contact["parent_user_id"], message["from_parent_user_id"] = parent_user_id, parent_user_id
    return envelope(number, {"contacts": [contact], "messages": [message]})


def system_notice(number, *, wamid, system: dict, wa_from=None, from_user_id=None, ts=1_700_000_500) -> dict:
    message = {"id": wamid, "timestamp": str(ts), "type": "system", "system": system}
    if wa_from:
        message["from"] = wa_from
    if from_user_id:
        message["from_user_id"] = from_user_id
    return envelope(number, {"messages": [message]})  # system notices carry no contacts


def address_rows(account):
    return list(AuditEvent.objects.filter(kind=AuditEvent.Kind.ACCOUNT_WHATSAPP_ADDRESS, account=account)
                .order_by("id").values_list("details", flat=True))


# --- inbound routing -----------------------------------------------------------------------------

def test_a_message_with_a_user_id_and_no_number_reaches_the_reps_thread(client, solo_number, alex):
    # given: an HCP known to Rapport only by her WhatsApp user id (she shows a username, not her number)
    ada = AccountFactory(name="Dr. Ada", whatsapp_number=None, whatsapp_user_id=ADA_USER_ID, team=[alex])
    # when: she writes, and Meta's body has no `from` and no `wa_id`
    assert post_webhook(client, hcp_text(solo_number, wamid="wamid.U1", user_id=ADA_USER_ID,
                                         username="ada.cardio")).status_code == 200
    # then: the message is hers, in Alex's thread, with the sender's user id kept as received
    message = Message.objects.get(wamid="wamid.U1")
    assert message.account == ada and message.thread.user == alex
    assert message.wa_from == "" and message.wa_from_user_id == ADA_USER_ID
    ada.refresh_from_db()
    assert ada.whatsapp_username == "ada.cardio"  # learned, audited
    assert address_rows(ada)[0]["changes"] == {"whatsapp_username": {"from": "", "to": "ada.cardio"}}


def test_a_webhook_naming_both_teaches_the_account_its_user_id(client, solo_number, ada):
    # given: Ada is known by number only
    assert ada.whatsapp_user_id is None
    # when: a message comes with her number and her user id (and parent id)
    post_webhook(client, hcp_text(solo_number, wamid="wamid.B1", wa_id="447700900001", user_id=ADA_USER_ID,
                                  parent_user_id=ADA_PARENT_ID))
    # then: routed by number as before, and the account now has the user id, audited
    ada.refresh_from_db()
    assert Message.objects.get(wamid="wamid.B1").thread.account == ada
    assert (ada.whatsapp_user_id, ada.whatsapp_parent_user_id) == (ADA_USER_ID, ADA_PARENT_ID)
    [row] = address_rows(ada)
    assert row["reason"] == "learned from a webhook" and row["wamid"] == "wamid.B1"
    assert row["changes"]["whatsapp_user_id"] == {"from": "", "to": ADA_USER_ID}
    # and: the same body again changes nothing more
    post_webhook(client, hcp_text(solo_number, wamid="wamid.B1", wa_id="447700900001", user_id=ADA_USER_ID,
                                  parent_user_id=ADA_PARENT_ID))
    assert len(address_rows(ada)) == 1


def test_an_account_known_by_user_id_learns_its_number(client, solo_number, alex):
    ada = AccountFactory(whatsapp_number=None, whatsapp_user_id=ADA_USER_ID, team=[alex])
    post_webhook(client, hcp_text(solo_number, wamid="wamid.N1", wa_id="447700900001", user_id=ADA_USER_ID))
    ada.refresh_from_db()
    assert ada.whatsapp_number == "+447700900001"


def test_an_identifier_another_account_holds_is_not_taken(client, solo_number, ada, alex):
    # given: an admin made a second record holding the user id Meta gives with Ada's number
    twin = AccountFactory(name="Ada (duplicate)", whatsapp_number=None, whatsapp_user_id=ADA_USER_ID, team=[alex])
    # when: a message names both
    post_webhook(client, hcp_text(solo_number, wamid="wamid.C1", wa_id="447700900001", user_id=ADA_USER_ID))
    # then: the user id decides routing; neither record takes the other's identifier
    assert Message.objects.get(wamid="wamid.C1").account == twin
    ada.refresh_from_db(), twin.refresh_from_db()
    assert ada.whatsapp_user_id is None and twin.whatsapp_number is None


def test_an_unknown_user_id_is_kept_unrouted_never_dropped(client, solo_number, ada):
    response = post_webhook(client, hcp_text(solo_number, wamid="wamid.X1", user_id="GB.999888777"))
    assert response.status_code == 200
    message = Message.objects.get(wamid="wamid.X1")
    assert message.thread is None and message.account is None
    assert message.wa_from_user_id == "GB.999888777"
    assert message.unrouted_reason == "sender GB.999888777 is no HCP account"


def test_unrouted_user_id_messages_are_listed_for_admins(admin_client, client, solo_number):
    post_webhook(client, hcp_text(solo_number, wamid="wamid.X2", user_id="GB.999888777", text="Who am I?"))
    page = admin_client.get("/admin/chats/message/?q=GB.999888777")
    assert page.status_code == 200 and "Who am I?" in page.content.decode()


# --- system notices: the HCP changed number or user id ----------------------------------------------

def test_user_changed_number_rekeys_the_account_keeping_consent_threads_and_history(client, solo_number, ada, alex):
    # given: Ada has a thread with history and her consent
    post_webhook(client, hcp_text(solo_number, wamid="wamid.H1", wa_id="447700900001", user_id=ADA_USER_ID))
    thread = Thread.objects.get(account=ada)
    # when: Meta says she moved to a new number (and a new user id comes with it)
    post_webhook(client, system_notice(solo_number, wamid="wamid.S1", wa_from="447700900001", system={
        "body": "User Ada changed from 447700900001 to 447700900999", "wa_id": "447700900999",
        "user_id": "US.5550001", "type": "user_changed_number"}))
    # then: the same account has the new number and id; consent, thread and history stay
    ada.refresh_from_db()
    assert (ada.whatsapp_number, ada.whatsapp_user_id) == ("+447700900999", "US.5550001")
    assert ConsentRecord.objects.get(account=ada).status == "opted_in"
    assert Message.objects.get(wamid="wamid.S1").thread == thread
    rekey = address_rows(ada)[-1]
    assert rekey["reason"] == "user_changed_number" and rekey["changes"]["whatsapp_number"] == {
        "from": "+447700900001", "to": "+447700900999"}
    # and: her next message, from the new number, lands in the same thread
    post_webhook(client, hcp_text(solo_number, wamid="wamid.H2", wa_id="447700900999", user_id="US.5550001"))
    assert Message.objects.get(wamid="wamid.H2").thread == thread
    assert Account.objects.count() == 1


def test_user_changed_user_id_rekeys_the_account(client, solo_number, alex):
    ada = AccountFactory(whatsapp_number=None, whatsapp_user_id=ADA_USER_ID, team=[alex])
    post_webhook(client, system_notice(solo_number, wamid="wamid.S2", from_user_id=ADA_USER_ID, system={
        "body": "User Ada changed from US.13491208655302741918 to US.777", "user_id": "US.777",
        "previous_user_id": ADA_USER_ID, "type": "user_changed_user_id"}))
    ada.refresh_from_db()
    assert ada.whatsapp_user_id == "US.777"
    post_webhook(client, hcp_text(solo_number, wamid="wamid.U2", user_id="US.777"))
    assert Message.objects.get(wamid="wamid.U2").account == ada


def test_a_rekey_and_a_message_from_the_new_number_in_one_body_both_land(client, solo_number, ada):
    notice = system_notice(solo_number, wamid="wamid.S3", wa_from="447700900001", system={
        "body": "changed", "wa_id": "447700900555", "type": "user_changed_number"})
    text = hcp_text(solo_number, wamid="wamid.T3", wa_id="447700900555")
    notice["entry"][0]["changes"][0]["value"]["messages"] += text["entry"][0]["changes"][0]["value"]["messages"]
    post_webhook(client, notice)
    assert Message.objects.get(wamid="wamid.T3").account == ada


def test_a_rekey_to_a_number_another_hcp_has_is_refused_and_audited(client, solo_number, ada, alex):
    other = AccountFactory(whatsapp_number="+447700900777", team=[alex])
    post_webhook(client, system_notice(solo_number, wamid="wamid.S4", wa_from="447700900001", system={
        "body": "changed", "wa_id": "447700900777", "type": "user_changed_number"}))
    ada.refresh_from_db(), other.refresh_from_db()
    assert ada.whatsapp_number == "+447700900001" and other.whatsapp_number == "+447700900777"
    [row] = address_rows(ada)
    assert row["refused"] == {"whatsapp_number": "+447700900777"}


# --- sends and statuses --------------------------------------------------------------------------------

@pytest.fixture
def number_9(alex):
    return PhoneNumberFactory(waba=WabaFactory(access_token="EAAG-token"), phone_number_id="100000000000009",
                              reps=[alex])


def test_a_send_to_an_hcp_known_by_user_id_goes_in_recipient_never_in_to(fake_graph, number_9, alex):
    ada = AccountFactory(whatsapp_number=None, whatsapp_user_id=ADA_USER_ID, team=[alex])
    message = queue(ThreadFactory(user=alex, account=ada, phone_number=number_9), body="Hello")
    [request] = fake_graph.messages_posted()
    assert request.json["recipient"] == ADA_USER_ID and "to" not in request.json
    assert message.status == "sent"


def test_a_send_to_an_hcp_with_a_number_uses_to(fake_graph, number_9, alex):
    ada = AccountFactory(whatsapp_number="+447700900001", whatsapp_user_id=ADA_USER_ID, team=[alex])
    queue(ThreadFactory(user=alex, account=ada, phone_number=number_9), body="Hello")
    [request] = fake_graph.messages_posted()
    assert request.json["to"] == "447700900001" and "recipient" not in request.json


def test_a_user_id_never_goes_in_to():
    with pytest.raises(ValueError, match="recipient"):
        graph_client.text_payload(to=ADA_USER_ID, body="Hello")


def test_131062_fails_the_message_with_a_clear_reason(fake_graph, number_9, alex):
    ada = AccountFactory(whatsapp_number=None, whatsapp_user_id=ADA_USER_ID, team=[alex])
    fake_graph.error(131062, "Business-scoped User ID recipients are not supported for this message")
    message = queue(ThreadFactory(user=alex, account=ada, phone_number=number_9), body="Hello")
    assert message.status == "failed" and message.failure_code == "needs_phone_number"
    assert "phone number" in message.failure_reason and message.error_code == 131062


def test_a_status_that_names_only_the_user_id_applies(client, fake_graph, number_9, alex):
    ada = AccountFactory(whatsapp_number=None, whatsapp_user_id=ADA_USER_ID, team=[alex])
    message = queue(ThreadFactory(user=alex, account=ada, phone_number=number_9), body="Hello")
    post_webhook(client, envelope(number_9, {"statuses": [{
        "id": message.wamid, "status": "delivered", "timestamp": "1700000100", "recipient_user_id": ADA_USER_ID}]}))
    message.refresh_from_db()
    assert message.status == "delivered"


def test_a_status_naming_both_teaches_the_user_id(client, fake_graph, number_9, ada, alex):
    message = queue(ThreadFactory(user=alex, account=ada, phone_number=number_9), body="Hello")
    post_webhook(client, envelope(number_9, {"statuses": [{
        "id": message.wamid, "status": "delivered", "timestamp": "1700000100", "recipient_id": "447700900001",
        "recipient_user_id": ADA_USER_ID}]}))
    ada.refresh_from_db()
    assert ada.whatsapp_user_id == ADA_USER_ID
    assert address_rows(ada)[0]["changes"]["whatsapp_user_id"]["to"] == ADA_USER_ID


def test_a_preference_naming_only_the_user_id_opts_the_hcp_out(client, solo_number, alex):
    ada = AccountFactory(whatsapp_number=None, whatsapp_user_id=ADA_USER_ID, team=[alex])
    post_webhook(client, envelope(solo_number, {"user_preferences": [{
        "user_id": ADA_USER_ID, "category": "marketing_messages", "value": "stop", "detail": "",
        "timestamp": 1_700_000_000}]}, field="user_preferences"))
    assert ConsentRecord.objects.get(account=ada).status == "opted_out"


# --- admin, import and API ------------------------------------------------------------------------------

def test_admin_creates_an_hcp_known_only_by_user_id(admin_client):
    response = admin_client.post("/admin/chats/account/add/", {
        "name": "Dr. Username", "specialty": "", "whatsapp_number": "", "whatsapp_user_id": ADA_USER_ID,
        "whatsapp_parent_user_id": "", "whatsapp_username": "dr.username", "language": "en"})
    assert response.status_code == 302, response.content.decode()[:2000]
    account = Account.objects.get(name="Dr. Username")
    assert account.whatsapp_number is None and account.whatsapp_user_id == ADA_USER_ID


def test_admin_refuses_an_hcp_with_neither_number_nor_user_id(admin_client):
    response = admin_client.post("/admin/chats/account/add/", {
        "name": "Dr. Nobody", "specialty": "", "whatsapp_number": "", "whatsapp_user_id": "",
        "whatsapp_parent_user_id": "", "whatsapp_username": "", "language": "en"})
    assert response.status_code == 200
    assert "needs a WhatsApp number or a WhatsApp user id" in response.content.decode()
    assert not Account.objects.filter(name="Dr. Nobody").exists()


def test_admin_refuses_a_malformed_user_id(admin_client):
    response = admin_client.post("/admin/chats/account/add/", {
        "name": "Dr. Typo", "whatsapp_number": "", "whatsapp_user_id": "13491208655302741918", "language": "en"})
    assert response.status_code == 200 and "is not a WhatsApp user id" in response.content.decode()


def test_import_creates_and_then_recognises_an_hcp_by_user_id(db):
    from tablib import Dataset

    from chats.admin.resources import AccountResource

    rows = Dataset(headers=["name", "specialty", "whatsapp_number", "whatsapp_user_id", "whatsapp_parent_user_id",
                            "whatsapp_username", "language", "team"])
    rows.append(["Dr. Username", "", "", ADA_USER_ID, "", "dr.username", "en", ""])
    first = AccountResource().import_data(rows, dry_run=False)
    assert not first.has_errors() and not first.has_validation_errors()
    again = AccountResource().import_data(rows, dry_run=False)
    assert not again.has_validation_errors()
    [account] = Account.objects.all()
    assert account.whatsapp_user_id == ADA_USER_ID and account.whatsapp_number is None


def test_import_refuses_a_row_with_neither(db):
    from tablib import Dataset

    from chats.admin.resources import AccountResource

    rows = Dataset(headers=["name", "whatsapp_number", "whatsapp_user_id", "language"])
    rows.append(["Dr. Nobody", "", "", "en"])
    result = AccountResource().import_data(rows, dry_run=True)
    assert result.has_validation_errors()
    assert "WhatsApp user id" in json.dumps([str(e.error) for row in result.invalid_rows for e in [row]])


def test_api_shows_the_user_id_and_username(client, alex):
    from tests.factories import api_token

    AccountFactory(name="Dr. Username", whatsapp_number=None, whatsapp_user_id=ADA_USER_ID,
                   whatsapp_username="dr.username", team=[alex])
    response = client.get("/api/v1/accounts", HTTP_AUTHORIZATION=f"Token {api_token(alex)}")
    [account] = response.json()["results"]
    assert account["whatsapp_number"] is None and account["whatsapp_user_id"] == ADA_USER_ID
    assert account["whatsapp_username"] == "dr.username"
    found = client.get("/api/v1/accounts?search=@dr.username", HTTP_AUTHORIZATION=f"Token {api_token(alex)}")
    assert [a["name"] for a in found.json()["results"]] == ["Dr. Username"]
