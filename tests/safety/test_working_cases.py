"""The rep sees and annotates a case; drug safety forwards it (once) or closes it; who may do what."""
import json
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client

from chats.compliance.append_only import AppendOnlyError
from chats.models import SafetyCase, SafetyCaseEvent
from chats.safety.forwarding import safety_digest_send
from tests.factories import UserFactory
from tests.integration.conftest import make_integration
from tests.safety.conftest import T0, api_client, hcp_writes

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(client, lexicon, solo_number, ada):
    with time_machine.travel(T0, tick=False):
        message = hcp_writes(client, number=solo_number, account=ada, text="Rash after the 2nd dose of Cholecap")
    return SafetyCase.objects.get(message=message)


@pytest.fixture
def officer(db):
    return UserFactory(username="drug.safety", is_staff=True, is_superuser=True)


def admin_client(user) -> Client:
    web = Client()
    web.force_login(user)
    return web


def test_opening_the_thread_marks_the_case_seen_once(case, alex, published, django_capture_on_commit_callbacks):
    thread_id = case.message.thread_id
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            assert api_client(alex).post(f"/api/v1/threads/{thread_id}/read/").status_code == 200
    case.refresh_from_db()
    assert case.seen_at is not None
    assert list(case.trail.values_list("kind", "actor")) == [("flagged", None), ("seen", alex.pk)]
    assert [(c.args[0], c.args[1]) for c in published.call_args_list if c.args[1] == "safety_case.changed"] == [
        (alex.pk, "safety_case.changed")]


def test_the_rep_adds_a_note_and_another_rep_cannot(case, alex, blair, published, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        answer = api_client(alex).post(f"/api/v1/safety-cases/{case.pk}/notes/",
                                       {"note": "Patient is 64, on Cholecap 10 mg since January."}, format="json")
    assert answer.status_code == 201
    assert answer.json()["kind"] == "note" and answer.json()["by"]["username"] == "alex"
    assert case.trail.filter(kind="note", actor=alex).get().note.startswith("Patient is 64")
    assert [c.args[1] for c in published.call_args_list] == ["safety_case.changed"]
    # a rep who does not own the thread learns nothing of the case
    other = api_client(blair).post(f"/api/v1/safety-cases/{case.pk}/notes/", {"note": "x"}, format="json")
    assert (other.status_code, other.json()["code"]) == (404, "not_found")
    empty = api_client(alex).post(f"/api/v1/safety-cases/{case.pk}/notes/", {"note": "  "}, format="json")
    assert empty.status_code == 400


def test_the_rep_cannot_close_a_case(case, alex):
    answer = api_client(alex).post(f"/api/v1/safety-cases/{case.pk}/close/", {"reason": "nothing"}, format="json")
    assert (answer.status_code, answer.json()["code"]) == (403, "staff_only")
    assert admin_client(alex).post(f"/admin/chats/safetycase/{case.pk}/close/", {"reason": "x"}).status_code == 302
    case.refresh_from_db()
    assert case.status == "open" and not case.trail.filter(kind="closed").exists()


def test_forwarding_sends_one_mail_with_the_case_attached(case, officer, settings, published,
                                                           django_capture_on_commit_callbacks):
    settings.SAFETY_MAILBOX = "pv@pharma.example"
    web = admin_client(officer)
    # when drug safety clicks Forward twice
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            assert web.post(f"/admin/chats/safetycase/{case.pk}/forward/").status_code == 302
    # then one mail went to the safety mailbox, with the case and its trail attached
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["pv@pharma.example"] and f"safety case {case.pk}" in sent.subject
    name, content, mimetype = sent.attachments[0]
    document = json.loads(content)
    assert (name, mimetype) == (f"safety-case-{case.pk}.json", "application/json")
    assert document["text"] == "Rash after the 2nd dose of Cholecap" and document["products"] == ["Cholecap"]
    assert [step["kind"] for step in document["trail"]] == ["flagged"]
    case.refresh_from_db()
    assert case.status == "forwarded" and case.forwarded_at is not None
    assert list(case.trail.values_list("kind", flat=True)) == ["flagged", "forwarded"]
    assert [c.args[1] for c in published.call_args_list] == ["safety_case.changed"]


def test_drug_safety_closes_a_case_with_a_reason(case, officer):
    web = admin_client(officer)
    assert web.get(f"/admin/chats/safetycase/{case.pk}/close/").status_code == 200
    assert web.post(f"/admin/chats/safetycase/{case.pk}/close/", {"reason": ""}).status_code == 200  # form again
    assert web.post(f"/admin/chats/safetycase/{case.pk}/close/",
                    {"reason": "The HCP asks about a rash in the label, no patient."}).status_code == 302
    case.refresh_from_db()
    assert (case.status, case.close_reason) == ("closed", "The HCP asks about a rash in the label, no patient.")
    closed = case.trail.get(kind="closed")
    assert (closed.actor, closed.note) == (officer, case.close_reason)


def test_the_trail_is_append_only(case):
    step = case.trail.get()
    with pytest.raises(AppendOnlyError):
        step.note = "changed"
        step.save()
    with pytest.raises(AppendOnlyError):
        step.delete()
    with pytest.raises(AppendOnlyError):
        SafetyCaseEvent.objects.filter(case=case).update(note="x")


def test_the_queue_shows_overdue_cases_first_and_filters(case, client, officer, solo_number, ada, alex):
    ada.country = "FR"
    ada.save()
    with time_machine.travel(T0 + timedelta(hours=30), tick=False):
        later = SafetyCase.objects.get(message=hcp_writes(client, number=solo_number, account=ada, text="side effects?"))
        page = admin_client(officer).get("/admin/chats/safetycase/")
        assert page.status_code == 200
        assert page.content.decode().count("Overdue") >= 2 and "Cholecap" in page.content.decode()
        for query, expected in [("due=overdue", [case.pk]), ("product=Cholecap", [case.pk]),
                                (f"rep={alex.pk}", [case.pk, later.pk]), ("country=FR", [case.pk, later.pk]),
                                ("country=GB", [])]:
            shown = admin_client(officer).get(f"/admin/chats/safetycase/?{query}").context["cl"].result_list
            assert [c.pk for c in shown] == expected, query
            listed = api_client(officer).get(f"/api/v1/safety-cases/?{query}").json()["results"]
            assert [c["id"] for c in listed] == expected, query


def test_who_reads_safety_cases(case, alex, officer):
    assert api_client(officer).get("/api/v1/safety-cases/").json()["results"][0]["id"] == case.pk
    assert api_client(alex).get("/api/v1/safety-cases/").status_code == 403
    _, reader = make_integration("safety:read", name="Argus")
    detail = reader.get(f"/api/v1/safety-cases/{case.pk}/").json()
    assert [step["kind"] for step in detail["trail"]] == ["flagged"]
    _, crm = make_integration("messages:read", "events:read", name="CRM")
    answer = crm.get("/api/v1/safety-cases/")
    assert (answer.status_code, answer.json()["code"]) == (403, "scope_required")


def test_the_change_feed_shows_cases_only_with_the_safety_scope(case):
    _, both = make_integration("events:read", "safety:read", name="Argus")
    _, crm = make_integration("events:read", name="CRM")
    assert "safety_case.changed" in [c["type"] for c in both.get("/api/v1/integration/changes/").json()["results"]]
    assert "safety_case.changed" not in [c["type"] for c in crm.get("/api/v1/integration/changes/").json()["results"]]
    refused = crm.get("/api/v1/integration/changes/?types=safety_case.changed")
    assert (refused.status_code, refused.json()["code"]) == (403, "scope_required")


def test_the_daily_digest_lists_overdue_cases(case, settings):
    with time_machine.travel(T0 + timedelta(hours=23), tick=False):
        assert safety_digest_send() == 0
    assert mail.outbox == []
    with time_machine.travel(T0 + timedelta(hours=25), tick=False):
        assert safety_digest_send() == 1
    assert f"case {case.pk}" in mail.outbox[0].body and "1 overdue" in mail.outbox[0].subject


def test_the_history_export_holds_cases_and_their_trails(case, officer):
    rows = json.loads(b"".join(admin_client(officer).get(
        f"/api/v1/accounts/{case.account_id}/history/?format=json").streaming_content))
    assert [(r["record"], r["id"]) for r in rows if r["record"].startswith("safety")] == [
        ("safety_case", case.pk), ("safety_case_event", case.trail.get().pk)]


@pytest.mark.parametrize("cases", [1, 4], ids=["one-case", "four-cases"])
def test_a_page_of_messages_costs_the_same_queries_with_cases(client, lexicon, solo_number, ada, alex, cases,
                                                              django_assert_num_queries):
    for i in range(cases):
        hcp_writes(client, number=solo_number, account=ada, text=f"rash number {i}")
        hcp_writes(client, number=solo_number, account=ada, text=f"hello {i}")
    thread_id = SafetyCase.objects.first().message.thread_id
    rep = api_client(alex)
    with django_assert_num_queries(4):  # session, user, thread, the page with its cases joined (+ reactions)
        assert len(rep.get(f"/api/v1/threads/{thread_id}/messages/").json()["results"]) == 2 * cases


def test_a_webhook_stops_carrying_cases_once_the_safety_scope_is_taken_away(client, lexicon, solo_number, ada,
                                                                            settings):
    from chats.integration.credentials import integration_scopes_set, webhook_subscribe
    from chats.integration.webhooks import webhooks_fan_out
    from chats.models import WebhookDelivery

    settings.INTEGRATION_WEBHOOK_ALLOW_PRIVATE = True  # the receiver is on this machine (the services profile refuses)

    # given: a safety system subscribed to case changes while it held `safety:read`
    argus, _ = make_integration("events:read", "safety:read", name="Argus")
    subscription, _ = webhook_subscribe(integration=argus, url="http://127.0.0.1:9/hook",
                                        event_types=["safety_case.changed"], actor=None)
    hcp_writes(client, number=solo_number, account=ada, text="My patient had a rash after Cholecap")
    webhooks_fan_out()
    assert WebhookDelivery.objects.filter(subscription=subscription).count() == 1
    # when: an admin takes the scope away, and another case opens
    integration_scopes_set(integration=argus, scopes=["events:read"], actor=None)
    hcp_writes(client, number=solo_number, account=ada, text="Another adverse event, hospitalised")
    webhooks_fan_out()
    # then: no delivery is made for it
    assert WebhookDelivery.objects.filter(subscription=subscription).count() == 1
