"""Every admin change to templates, numbers, assignments, phrases (and WABAs) leaves one audit row."""
import json

import pytest

from chats.models import AuditEvent, PhoneAssignment, RestrictedPhrase, RestrictedPhraseRule
from consent.models import ConsentEvent, ConsentRecord
from tests.factories import AccountFactory, ConsentMethodFactory, TemplateFactory, UserFactory, WabaFactory

pytestmark = pytest.mark.django_db


def admin_rows():
    return list(AuditEvent.objects.filter(kind=AuditEvent.Kind.ADMIN_CHANGE).order_by("id"))


def inline_management(prefix, total, initial):
    return {f"{prefix}-TOTAL_FORMS": total, f"{prefix}-INITIAL_FORMS": initial,
            f"{prefix}-MIN_NUM_FORMS": 0, f"{prefix}-MAX_NUM_FORMS": 1000}


def test_template_change_records_fields_and_new_values(admin_client, staff):
    # given: a template
    template = TemplateFactory(name="follow_up_visit", display_order=2, meta_status="APPROVED")
    data = {"waba": template.waba_id, "name": template.name, "language": "en", "kind": "meta", "usage": "general",
            "display_order": 7, "body": "Hi {{1}}, this is {{2}} again.", "bindings": json.dumps(template.bindings),
            "initial-bindings": json.dumps(template.bindings),  # a callable default renders a hidden initial
            "meta_category": "MARKETING", "meta_status": "APPROVED", "meta_template_id": ""}
    # when: an admin changes its order and body
    response = admin_client.post(f"/admin/templates_app/messagetemplate/{template.pk}/change/", data)
    # then: exactly one audit row, by the admin, naming the template, the fields and their new values
    assert response.status_code == 302, response.content[:2000]
    [row] = admin_rows()
    assert row.actor == staff
    assert row.details["action"] == "changed"
    assert row.details["model"] == "templates_app.messagetemplate"
    assert row.details["object_id"] == template.pk
    assert row.details["fields"] == {"display_order": 7, "body": "Hi {{1}}, this is {{2}} again."}


def test_saving_without_changes_records_nothing(admin_client):
    waba = WabaFactory(name="Rapport Pharma", default_language="en")
    data = {"waba_id": waba.waba_id, "name": waba.name, "default_language": "en"}
    assert admin_client.post(f"/admin/chats/whatsappbusinessaccount/{waba.pk}/change/", data).status_code == 302
    assert admin_rows() == []


def test_waba_secret_change_is_recorded_without_its_value(admin_client):
    # given: a WABA
    waba = WabaFactory(name="Rapport Pharma", default_language="en")
    data = {"waba_id": waba.waba_id, "name": "Rapport Pharma EU", "default_language": "en",
            "app_secret": "s3cr3t-never-logged", "access_token": ""}
    # when: an admin renames it and sets a new app secret
    assert admin_client.post(f"/admin/chats/whatsappbusinessaccount/{waba.pk}/change/", data).status_code == 302
    # then: one row saying the secret changed, never what it is
    [row] = admin_rows()
    assert row.details["fields"] == {"name": "Rapport Pharma EU"}
    assert row.details["secrets"] == ["app_secret changed"]
    assert "s3cr3t-never-logged" not in json.dumps(row.details)


def test_assignment_inline_add_and_remove(admin_client, number, rep, other_rep):
    # given: a number shared by two reps, and a third rep
    casey = UserFactory(username="rep.casey")
    assignments = list(PhoneAssignment.objects.filter(phone_number=number).order_by("id"))
    data = {"phone_number_id": number.phone_number_id, "display_phone_number": number.display_phone_number,
            "verified_name": number.verified_name, "waba": number.waba_id,
            **inline_management("assignments", 3, 2)}
    for i, a in enumerate(assignments):
        data |= {f"assignments-{i}-id": a.pk, f"assignments-{i}-phone_number": number.pk,
                 f"assignments-{i}-user": a.user_id}
    data[f"assignments-1-DELETE"] = "on"  # remove Blair
    data |= {"assignments-2-phone_number": number.pk, "assignments-2-user": casey.pk}  # add Casey
    # when: the admin saves the number
    response = admin_client.post(f"/admin/chats/phonenumber/{number.pk}/change/", data)
    # then: one row, on that number, listing the added and the removed assignment
    assert response.status_code == 302, response.content[:3000]
    [row] = admin_rows()
    assert row.phone_number == number
    actions = {(i["action"], i["model"]) for i in row.details["inlines"]}
    assert actions == {("added", "chats.phoneassignment"), ("deleted", "chats.phoneassignment")}
    added = next(i for i in row.details["inlines"] if i["action"] == "added")
    assert added["fields"]["user"] == {"id": casey.pk, "repr": "rep.casey"}
    assert set(PhoneAssignment.objects.filter(phone_number=number).values_list("user__username", flat=True)) == {
        "rep.alex", "rep.casey"}


def test_restricted_phrase_rule_with_inline_phrases(admin_client, staff):
    # when: an admin adds a rule with two phrases
    data = {"name": "Off-label claims", "active_from_0": "", "active_from_1": "", "active_to_0": "",
            "active_to_1": "", **inline_management("phrases", 2, 0),
            "phrases-0-phrase": "off-label", "phrases-0-match_type": "contains",
            "phrases-1-phrase": "guaranteed", "phrases-1-match_type": "exact"}
    response = admin_client.post("/admin/chats/restrictedphraserule/add/", data)
    assert response.status_code == 302, response.content[:3000]
    # then: one "added" row with both phrases
    [row] = admin_rows()
    assert row.details["action"] == "added" and row.details["fields"]["name"] == "Off-label claims"
    assert sorted(i["fields"]["phrase"] for i in row.details["inlines"]) == ["guaranteed", "off-label"]
    # and deleting the rule leaves a "deleted" row
    rule = RestrictedPhraseRule.objects.get()
    response = admin_client.post(f"/admin/chats/restrictedphraserule/{rule.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert admin_rows()[-1].details == {"action": "deleted", "model": "chats.restrictedphraserule",
                                        "object_id": rule.pk, "object_repr": "Off-label claims", "source": "admin"}
    assert not RestrictedPhrase.objects.exists()


def test_admin_edits_of_threads_and_conversations_are_audited(admin_client, staff, number, rep, other_rep):
    from chats.models import Conversation, Thread
    from tests.factories import ThreadFactory

    # given a thread and the conversation its HCP has on the number
    account = AccountFactory(name="Dr. Ada Lovelace", team=[rep, other_rep])
    thread = ThreadFactory(user=rep, account=account, phone_number=number)
    conversation = Conversation.objects.create(phone_number=number, account=account, owner=rep)
    # when an admin hands the window to another rep
    data = {"phone_number": number.pk, "account": account.pk, "owner": other_rep.pk, "last_inbound_at_0": "",
            "last_inbound_at_1": "", "window_expires_at_0": "", "window_expires_at_1": "", "ended_at_0": "",
            "ended_at_1": "", "ended_by": "", "last_template_by": "", "last_template_at_0": "",
            "last_template_at_1": "", "expiry_warned_at_0": "", "expiry_warned_at_1": "",
            "expiry_announced_at_0": "", "expiry_announced_at_1": ""}
    response = admin_client.post(f"/admin/chats/conversation/{conversation.pk}/change/", data)
    assert response.status_code == 302, response.content[:3000]
    # then one row names the conversation, its HCP and number, who did it and the new owner
    [row] = admin_rows()
    assert (row.actor, row.account, row.phone_number) == (staff, account, number)
    assert row.details["model"] == "chats.conversation" and row.details["action"] == "changed"
    assert row.details["fields"] == {"owner": {"id": other_rep.pk, "repr": str(other_rep)}}
    # and deleting the thread leaves a row too
    response = admin_client.post(f"/admin/chats/thread/{thread.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302 and not Thread.objects.filter(pk=thread.pk).exists()
    deleted = admin_rows()[-1]
    assert deleted.details["action"] == "deleted" and deleted.details["model"] == "chats.thread"
    assert (deleted.account, deleted.phone_number) == (account, number)


def test_a_dead_lettered_webhook_is_shown_with_its_error_and_replayed_from_admin(admin_client, staff, number, rep):
    from django.utils import timezone

    from chats.models import Message, WebhookEvent
    from tests.whatsapp.conftest import run_on_commit, text_body

    # given a body that failed its five attempts and was dead-lettered
    account = AccountFactory(name="Dr. Ada Lovelace", team=[rep])
    event = WebhookEvent.objects.create(body=text_body(number=number, account=account, wamid="wamid.DEAD1"),
                                        attempts=5, error="RuntimeError('database went away')",
                                        dead_lettered_at=timezone.now())
    # then admin lists it under "Dead-lettered", with its error
    page = admin_client.get("/admin/chats/webhookevent/?state=dead").content.decode()
    assert f"{event.pk}" in page and "database went away" in page
    # when an admin replays it
    with run_on_commit():
        response = admin_client.post("/admin/chats/webhookevent/", {"action": "replay", "_selected_action": [event.pk]})
    assert response.status_code == 302
    # then it is processed, and the replay is in the trail
    event.refresh_from_db()
    assert event.processed_at is not None and event.dead_lettered_at is None
    assert Message.objects.filter(wamid="wamid.DEAD1").exists()
    [row] = admin_rows()
    assert (row.actor, row.details["action"], row.details["object_id"]) == (staff, "replayed", event.pk)


def test_bulk_delete_of_assignments_writes_one_row_each(admin_client, number):
    pks = list(PhoneAssignment.objects.filter(phone_number=number).values_list("pk", flat=True))
    response = admin_client.post("/admin/chats/phoneassignment/",
                                 {"action": "delete_selected", "_selected_action": pks, "post": "yes"})
    assert response.status_code == 302
    rows = admin_rows()
    assert sorted(r.details["object_id"] for r in rows) == sorted(pks)
    assert all(r.details["action"] == "deleted" and r.phone_number == number for r in rows)


def test_admin_consent_edit_goes_through_the_service(admin_client, staff):
    # given: an opted-in HCP
    account = AccountFactory(name="Dr. Marie Curie")
    record = ConsentRecord.objects.get(account=account)
    # when: an admin opts them out in the admin
    response = admin_client.post(f"/admin/consent/consentrecord/{record.pk}/change/",
                                 {"consent_type": "", "status": "opted_out"})
    assert response.status_code == 302, response.content[:2000]
    # then: the record and one event say how (admin) and by whom
    record.refresh_from_db()
    assert (record.status, record.captured_via, record.captured_by) == ("opted_out", "admin", staff)
    [event] = ConsentEvent.objects.filter(account=account)
    assert (event.previous_status, event.status, event.via, event.actor) == ("opted_in", "opted_out", "admin", staff)
    # and saving the same status again is not a consent change
    admin_client.post(f"/admin/consent/consentrecord/{record.pk}/change/", {"consent_type": "", "status": "opted_out"})
    assert ConsentEvent.objects.filter(account=account).count() == 1
    # and the admin cannot delete a consent record
    assert admin_client.post(f"/admin/consent/consentrecord/{record.pk}/delete/", {"post": "yes"}).status_code == 403


def test_keyword_and_rep_consent_changes_carry_how_and_who(rep):
    from consent.services import consent_capture

    account = AccountFactory(consent="none")
    consent_capture(account=account, actor=rep, method=ConsentMethodFactory())
    [event] = ConsentEvent.objects.filter(account=account)
    assert (event.via, event.actor, event.previous_status, event.status) == ("rep", rep, "not_captured", "opted_in")
