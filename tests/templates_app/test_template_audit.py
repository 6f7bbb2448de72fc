"""Templates changed by Meta (a sync or a status webhook) leave one template.synced row each, by who asked."""
import json

import pytest
from django.core.management import call_command

from chats.models import AuditEvent
from templates_app.models import MessageTemplate
from tests.factories import TemplateFactory, WabaFactory
from tests.whatsapp.conftest import OWN_FIXTURES, post_webhook

pytestmark = pytest.mark.django_db

WABA_ID = "300000000000001"
MODEL = "templates_app.messagetemplate"


def meta_template(tid, name, status, body, category="MARKETING", language="en"):
    return {"id": tid, "name": name, "language": language, "status": status, "category": category,
            "components": [{"type": "BODY", "text": body}]}


@pytest.fixture
def meta(fake_graph):
    """Meta lists two templates for the WABA; Rapport already has one of them, approved, with an old body."""
    waba = WabaFactory(waba_id=WABA_ID, access_token="waba-token")
    fake_graph.pages[f"/v26.0/{WABA_ID}/message_templates"] = {"data": [
        meta_template("11", "visit_follow_up", "APPROVED", "Hello {{1}}, thanks for your time."),
        meta_template("12", "sample_offer", "PAUSED", "Samples are available, {{1}}."),
    ]}
    kept = TemplateFactory(waba=waba, name="sample_offer", language="en", meta_status="APPROVED",
                           meta_template_id="12", body="Samples, {{1}}?", bindings={"1": "account.name"})
    return {"waba": waba, "kept": kept, "fake": fake_graph}


def sync_rows():
    return list(AuditEvent.objects.filter(kind=AuditEvent.Kind.TEMPLATE_SYNCED).order_by("id"))


def test_the_hourly_task_records_each_created_and_changed_template_as_the_system(meta):
    from templates_app.tasks import sync_all_templates_task

    # when: the beat task syncs
    sync_all_templates_task.delay()
    # then: one "added" row for the new template and one "changed" row saying what Meta changed, no actor
    created = MessageTemplate.objects.get(name="visit_follow_up")
    added, changed = sync_rows()
    assert (added.actor, added.account, added.phone_number) == (None, None, None)
    assert added.details == {
        "action": "added", "model": MODEL, "object_id": created.pk, "object_repr": "visit_follow_up [en]",
        "source": "meta_sync", "waba_id": WABA_ID,
        "fields": {"kind": "meta", "meta_template_id": "11", "meta_status": "APPROVED", "meta_category": "MARKETING",
                   "body": "Hello {{1}}, thanks for your time.", "status_reason": ""},
    }
    assert changed.actor is None
    assert changed.details == {
        "action": "changed", "model": MODEL, "object_id": meta["kept"].pk, "object_repr": "sample_offer [en]",
        "source": "meta_sync", "waba_id": WABA_ID,
        "fields": {"meta_status": "PAUSED", "body": "Samples are available, {{1}}."},
        "previous": {"meta_status": "APPROVED", "body": "Samples, {{1}}?"},
    }
    # and no admin.change row: this was not an admin's edit
    assert not AuditEvent.objects.filter(kind=AuditEvent.Kind.ADMIN_CHANGE).exists()


def test_a_sync_that_changes_nothing_records_nothing(meta, capsys):
    call_command("sync_templates", "--waba", WABA_ID)
    assert len(sync_rows()) == 2
    # when: the command runs again and Meta says the same
    call_command("sync_templates")
    # then: every template was read ("updated") but none changed, so no row
    assert "0 created, 2 updated" in capsys.readouterr().out.splitlines()[-1]
    assert len(sync_rows()) == 2
    assert all(row.actor is None for row in sync_rows())


def test_the_admin_action_records_the_admin_who_asked(meta, admin_client, admin_user):
    # when: an admin runs "Sync message templates from Meta" on the WABA
    response = admin_client.post("/admin/chats/whatsappbusinessaccount/",
                                 {"action": "sync_message_templates", "_selected_action": [meta["waba"].pk]})
    assert response.status_code == 302
    # then: the rows carry that admin as actor, and the source is still Meta's sync
    rows = sync_rows()
    assert [(r.actor, r.details["action"], r.details["source"]) for r in rows] == [
        (admin_user, "added", "meta_sync"), (admin_user, "changed", "meta_sync")]


def test_a_status_webhook_records_the_change_once(client, meta):
    # given: Meta's PAUSED webhook for sample_offer (matched by name and language: our row has another id)
    body = json.loads((OWN_FIXTURES / "template_status.json").read_text())["paused"]
    body["entry"][0]["id"] = WABA_ID
    # when: it arrives, then arrives again (Meta delivers at least once)
    post_webhook(client, body)
    post_webhook(client, body)
    # then: the template is paused and exactly one row says so, with Meta's event and reason, no actor
    kept = MessageTemplate.objects.get(pk=meta["kept"].pk)
    assert kept.meta_status == "PAUSED"
    [row] = sync_rows()
    assert (row.actor, row.account, row.phone_number) == (None, None, None)
    assert row.details == {
        "action": "changed", "model": MODEL, "object_id": kept.pk, "object_repr": "sample_offer [en]",
        "source": "meta_webhook", "waba_id": WABA_ID, "event": "PAUSED",
        "fields": {"meta_status": "PAUSED", "status_reason": "Template paused after low quality feedback"},
        "previous": {"meta_status": "APPROVED", "status_reason": ""},
    }


def test_a_status_webhook_for_an_unknown_template_records_nothing(client, meta):
    body = json.loads((OWN_FIXTURES / "template_status.json").read_text())["rejected"]
    post_webhook(client, body)
    assert sync_rows() == []
