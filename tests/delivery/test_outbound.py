"""Outbound sends against a fake Graph API on 127.0.0.1: exact bodies and each error's outcome."""
import json
import socket

import pytest

from chats.delivery.handoff import message_deliver
from chats.delivery.queue import message_queue_outbound
from chats.models import AuditEvent, Message
from consent.models import ConsentRecord
from tests.factories import TemplateFactory, ThreadFactory, WabaFactory, PhoneNumberFactory
from tests.whatsapp.conftest import post_webhook, run_on_commit, status_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def thread(alex, ada):
    waba = WabaFactory(access_token="EAAG-token-of-this-waba")
    number = PhoneNumberFactory(waba=waba, phone_number_id="100000000000009", reps=[alex])
    return ThreadFactory(user=alex, account=ada, phone_number=number)


def queue(thread, *, body="Hello Dr. Lovelace", kind="text", template=None, variables=None, reply_to=None):
    with run_on_commit():
        message = Message.objects.create(
            thread=thread, phone_number=thread.phone_number, account=thread.account, sender=thread.user,
            direction="outbound", kind=kind, body=body, template=template, template_variables=variables or {},
            reply_to=reply_to, status="queued",
        )
        message_queue_outbound(message=message)
    message.refresh_from_db()
    return message


def test_text_body_and_headers_are_exactly_metas(fake_graph, thread):
    message = queue(thread, body="Hello Dr. Lovelace")
    [request] = fake_graph.messages_posted()
    assert request.path == "/v26.0/100000000000009/messages"
    assert request.headers["Authorization"] == "Bearer EAAG-token-of-this-waba"
    assert request.json == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "447700900001",
        "biz_opaque_callback_data": f"rapport:message:{message.pk}",
        "type": "text",
        "text": {"preview_url": False, "body": "Hello Dr. Lovelace"},
    }
    assert message.status == "sent" and message.wamid == "wamid.FAKE.1" and message.sent_at is not None
    assert message.send_attempts == 1


def test_text_with_a_link_asks_for_a_preview(fake_graph, thread):
    queue(thread, body="The study: https://example.com/study.pdf")
    assert fake_graph.messages_posted()[0].json["text"] == {
        "preview_url": True, "body": "The study: https://example.com/study.pdf"}


def test_global_token_applies_without_a_wabas_own(fake_graph, thread, settings):
    settings.WHATSAPP_ACCESS_TOKEN = "global-token"
    thread.phone_number.waba.access_token = ""
    thread.phone_number.waba.save()
    queue(thread)
    assert fake_graph.messages_posted()[0].headers["Authorization"] == "Bearer global-token"


def test_template_carries_name_language_and_body_parameters(fake_graph, thread):
    template = TemplateFactory(waba=thread.phone_number.waba, name="visit_follow_up", language="en_GB",
                               body="Hello {{1}}, this is {{2}}.", bindings={"1": "account.name", "2": "rep.full_name"})
    message = queue(thread, kind="template", template=template, body="Hello Dr. Ada Lovelace, this is Alex Morgan.",
                    variables={"1": "Dr. Ada Lovelace"})
    assert fake_graph.messages_posted()[0].json == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "447700900001",
        "biz_opaque_callback_data": f"rapport:message:{message.pk}",
        "type": "template",
        "template": {
            "name": "visit_follow_up",
            "language": {"code": "en_GB"},
            "components": [{"type": "body", "parameters": [
                {"type": "text", "text": "Dr. Ada Lovelace"},
                {"type": "text", "text": "Alex Morgan"},  # from the binding rep.full_name
            ]}],
        },
    }


def test_named_placeholders_carry_their_names(fake_graph, thread):
    template = TemplateFactory(waba=thread.phone_number.waba, name="named", body="Hi {{doctor}}",
                               bindings={"doctor": "account.name"})
    queue(thread, kind="template", template=template)
    params = fake_graph.messages_posted()[0].json["template"]["components"][0]["parameters"]
    assert params == [{"type": "text", "text": "Dr. Ada Lovelace", "parameter_name": "doctor"}]


def test_reply_carries_context_message_id(fake_graph, thread):
    incoming = Message.objects.create(thread=thread, account=thread.account, phone_number=thread.phone_number,
                                      direction="inbound", body="Question?", wamid="wamid.FROM.HCP", status="received")
    queue(thread, body="Answer.", reply_to=incoming)
    assert fake_graph.messages_posted()[0].json["context"] == {"message_id": "wamid.FROM.HCP"}


def test_131047_fails_as_window_closed_without_retry(fake_graph, thread):
    fake_graph.error(131047, "Re-engagement message", "More than 24 hours have passed since the customer last replied.")
    message = queue(thread)
    assert len(fake_graph.messages_posted()) == 1
    assert message.status == "failed" and message.failure_code == "window_closed"
    assert message.failure_reason == "more than 24 hours since the HCP last wrote; send an approved template"
    assert message.error_code == 131047 and "24 hours" in message.error_details
    assert AuditEvent.objects.filter(kind="message.failed", message=message).exists()


@pytest.mark.parametrize("status,code", [(400, 130429), (500, None), (503, 131000)])
def test_throttling_and_server_errors_are_retried_then_sent(fake_graph, thread, status, code):
    fake_graph.answer(status, {"error": {"message": "slow down", "code": code}} if code else "<html>oops</html>")
    message = queue(thread)
    assert len(fake_graph.messages_posted()) == 2
    assert message.status == "sent" and message.wamid and message.send_attempts == 2


def test_retries_are_bounded(fake_graph, thread, settings):
    settings.WHATSAPP_SEND_MAX_ATTEMPTS = 3
    for _ in range(5):
        fake_graph.answer(500, {"error": {"message": "Internal error", "code": 1}})
    message = queue(thread)
    assert len(fake_graph.messages_posted()) == 3
    assert message.status == "failed" and "gave up after 3 attempts" in message.failure_reason


def test_pair_rate_131056_backs_off_before_the_next_try(fake_graph, thread, settings):
    settings.WHATSAPP_PAIR_BACKOFF_SECONDS = 0.2
    fake_graph.error(131056, "(Business Account, Consumer Account) pair rate limit hit")
    message = queue(thread)
    first, second = fake_graph.messages_posted()
    assert message.status == "sent"
    assert second.at - first.at >= 0.2


def test_a_configuration_error_fails_once_and_asks_an_admin(fake_graph, thread, caplog):
    fake_graph.error(132001, "Template name does not exist in the translation", "template name (x) does not exist in en")
    message = queue(thread)
    assert len(fake_graph.messages_posted()) == 1
    assert message.status == "failed" and message.failure_code == "needs_admin"
    assert message.error_title == "(132001) Template name does not exist in the translation"
    assert message.error_details == "template name (x) does not exist in en"
    assert message.failure_reason == "the template does not exist in this language at Meta"
    assert "an admin must fix" in caplog.text


def test_an_unknown_4xx_fails_with_metas_words(fake_graph, thread):
    fake_graph.error(139999, "Something new", "a reason Meta gives that Rapport has no words for yet")
    message = queue(thread)
    assert len(fake_graph.messages_posted()) == 1
    assert (message.status, message.failure_code) == ("failed", "meta_error")
    assert message.failure_reason == "a reason Meta gives that Rapport has no words for yet"


@pytest.mark.parametrize("code,status,failure_code,reason", [
    (131049, "failed", "meta_error", "wait a day before sending it again"),
    (131042, "failed", "needs_admin", "payment problem"),
    (368, "failed", "needs_admin", "policy violation"),
    (131026, "failed", "meta_error", "cannot receive this message"),
    (1, "sent", "", ""),        # Meta's passing trouble: tried again, then sent
    (131000, "sent", "", ""),
])
def test_each_error_class_does_what_the_table_says(fake_graph, thread, code, status, failure_code, reason):
    fake_graph.error(code, "title")
    message = queue(thread)
    assert (message.status, message.failure_code) == (status, failure_code)
    assert reason in message.failure_reason
    assert len(fake_graph.messages_posted()) == (2 if status == "sent" else 1)


def test_read_timeout_is_not_resent_and_a_later_status_reconciles(fake_graph, thread, settings, client):
    # given: Meta takes longer than our timeout to answer
    settings.WHATSAPP_TIMEOUT_SECONDS = 0.3
    fake_graph.answer(200, {"messages": [{"id": "wamid.LATE"}]}, delay=1.0)
    # when: the send times out
    message = queue(thread)
    # then: one request only, and the message says the outcome is unknown
    assert len(fake_graph.messages_posted()) == 1
    assert message.status == "failed" and message.failure_code == "timeout_unknown"
    # when: Meta's status webhook (with our callback data) says it was delivered after all
    body = json.loads(status_body(number=thread.phone_number, wamid="wamid.LATE", status="delivered"))
    body["entry"][0]["changes"][0]["value"]["statuses"][0]["biz_opaque_callback_data"] = f"rapport:message:{message.pk}"
    post_webhook(client, json.dumps(body).encode())
    message.refresh_from_db()
    assert message.status == "delivered" and message.wamid == "wamid.LATE" and message.failure_code == ""


def test_unreachable_meta_is_retried_then_fails(fake_graph, thread, settings):
    with socket.socket() as s:  # a port nobody listens on: connection refused, the request never left
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.WHATSAPP_GRAPH_URL = f"http://127.0.0.1:{port}"
    settings.WHATSAPP_SEND_MAX_ATTEMPTS = 2
    message = queue(thread)
    assert message.status == "failed" and message.failure_code == "unreachable" and message.send_attempts == 2


def test_opted_out_account_is_not_sent(fake_graph, thread):
    ConsentRecord.objects.filter(account=thread.account).update(status="opted_out")
    message = queue(thread)
    assert fake_graph.messages_posted() == []
    assert message.status == "failed" and message.failure_code == "opted_out"


def test_a_sent_message_is_never_sent_again(fake_graph, thread):
    from chats.tasks import send_message_task

    message = queue(thread)
    send_message_task.delay(message.pk)
    assert len(fake_graph.messages_posted()) == 1


def test_a_send_task_reads_the_message_its_consent_and_relations_once(fake_graph, thread, django_assert_num_queries):
    # given a queued message whose task has not run yet
    message = Message.objects.create(
        thread=thread, phone_number=thread.phone_number, account=thread.account, sender=thread.user,
        direction="outbound", kind="text", body="Hello", status="queued",
    )
    # when the task runs: the message with its relations and consent; the hand-off claim; then, in a
    # savepoint here (a transaction in the worker), the attempt, wamid and status, the columns read
    # again, the audit row, the change feed's row of the status event
    with django_assert_num_queries(10) as captured:
        message_deliver(message_id=message.pk)
    # then it was sent; the HCP's consent was read with the message and checked again by the claim
    # itself (so an opt-out cannot slip between the two), and no relation was loaded again
    message.refresh_from_db()
    assert message.status == "sent" and len(fake_graph.messages_posted()) == 1
    sql = [q["sql"] for q in captured.captured_queries]
    assert [i for i, text in enumerate(sql) if "consent_consentrecord" in text] == [0, 1]
    assert sql[1].startswith("UPDATE") and "handoff_started_at" in sql[1]
    assert not [text for text in sql[1:] if text.startswith("SELECT") and "chats_message" not in text.split("FROM")[1]]
    row = AuditEvent.objects.get(message=message, kind="message.status")
    assert (row.account_id, row.phone_number_id, row.thread_id, row.actor_id) == (
        thread.account_id, thread.phone_number_id, thread.pk, thread.user_id)


def test_admins_find_the_messages_that_need_them(fake_graph, thread):
    from django.test import Client

    from tests.factories import UserFactory

    fake_graph.error(131042, "Business eligibility payment issue")
    failed = queue(thread)
    staff = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff)
    page = client.get("/admin/chats/message/?failure_code=needs_admin")
    assert page.status_code == 200 and f"/admin/chats/message/{failed.pk}/change/" in page.content.decode()
    assert "needs an admin" in page.content.decode()


def test_metas_pricing_is_kept_on_the_message_and_shown(fake_graph, thread, client):
    from django.test import Client

    from tests.api.conftest import api_client
    from tests.factories import UserFactory

    message = queue(thread)
    number = thread.phone_number
    # given Meta's sent status with its pricing (and a key Rapport does not know), then a read without any
    sent = json.loads(status_body(number=number, wamid=message.wamid, status="sent", recipient="447700900001"))
    sent["entry"][0]["changes"][0]["value"]["statuses"][0]["pricing"] = {
        "billable": True, "pricing_model": "PMP", "category": "marketing", "type": "regular", "surprise": 1}
    assert post_webhook(client, sent).status_code == 200
    assert post_webhook(client, status_body(number=number, wamid=message.wamid, status="read")).status_code == 200
    message.refresh_from_db()
    expected = {"billable": True, "pricing_model": "PMP", "category": "marketing", "type": "regular"}
    assert message.pricing == expected
    # then the API and the export show it
    page = api_client(thread.user).get(f"/api/v1/threads/{thread.pk}/messages/").json()
    assert page["results"][-1]["pricing"] == expected
    staff = Client()
    staff.force_login(UserFactory(is_staff=True, is_superuser=True))
    rows = json.loads(b"".join(staff.get(f"/api/v1/accounts/{thread.account_id}/history/?format=json")
                               .streaming_content))
    assert next(r for r in rows if r["record"] == "message" and r["id"] == message.pk)["pricing"] == expected


@pytest.mark.parametrize("code,status", [(132015, "PAUSED"), (132016, "DISABLED")])
def test_a_send_refused_for_its_template_marks_the_template(fake_graph, thread, code, status):
    from templates_app.models import MessageTemplate

    template = TemplateFactory(waba=thread.phone_number.waba, name="intro_meeting_request", meta_status="APPROVED",
                               body="Hello {{1}}")
    fake_graph.error(code, "Template paused or disabled")
    message = queue(thread, kind="template", template=template, body="Hello Dr. Lovelace")
    assert message.status == "failed"
    template.refresh_from_db()
    assert template.meta_status == status
    assert not MessageTemplate.objects.approved_meta().filter(pk=template.pk).exists()  # neither offered nor sent
    row = AuditEvent.objects.filter(kind="template.synced").latest("id")
    assert row.details["source"] == "meta_send_refusal" and row.details["previous"] == {"meta_status": "APPROVED"}
