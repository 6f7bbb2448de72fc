"""Meta's template events through the signed webhook: status (every event), quality score and
category apply at once, matched by Meta's id else by name and language, each change audited;
a template that is not APPROVED is neither offered nor sent."""
import json

import pytest

from chats.models import AuditEvent
from templates_app.models import MessageTemplate
from tests.factories import TemplateFactory, WabaFactory
from tests.whatsapp.conftest import post_webhook

pytestmark = pytest.mark.django_db


def body(waba_id, field, value):
    return json.dumps({"object": "whatsapp_business_account", "entry": [
        {"id": waba_id, "time": 1_700_000_000, "changes": [{"field": field, "value": value}]}]}).encode()


@pytest.fixture
def template():
    waba = WabaFactory(waba_id="300000000000077")
    return TemplateFactory(waba=waba, name="intro_meeting_request", language="en", meta_template_id="9001",
                           meta_status="APPROVED", meta_category="MARKETING")


def test_quality_updates_apply_and_are_audited(client, template):
    response = post_webhook(client, body("300000000000077", "message_template_quality_update", {
        "previous_quality_score": "GREEN", "new_quality_score": "RED", "message_template_id": 9001,
        "message_template_name": "intro_meeting_request", "message_template_language": "en"}))
    assert response.status_code == 200
    template.refresh_from_db()
    assert template.quality_score == "RED"
    row = AuditEvent.objects.filter(kind="template.synced").latest("id")
    assert row.details["fields"] == {"quality_score": "RED"} and row.details["previous"] == {"quality_score": ""}


def test_category_updates_match_by_name_and_language_without_an_id(client, template):
    post_webhook(client, body("300000000000077", "template_category_update", {
        "previous_category": "MARKETING", "new_category": "UTILITY",
        "message_template_name": "intro_meeting_request", "message_template_language": "en"}))
    template.refresh_from_db()
    assert template.meta_category == "UTILITY"


@pytest.mark.parametrize("event,status", [("PAUSED", "PAUSED"), ("DISABLED", "DISABLED"), ("FLAGGED", "FLAGGED"),
                                          ("ARCHIVED", "ARCHIVED"), ("REINSTATED", "APPROVED")])
def test_every_status_event_applies(client, template, event, status):
    if event == "REINSTATED":
        MessageTemplate.objects.filter(pk=template.pk).update(meta_status="PAUSED")
    post_webhook(client, body("300000000000077", "message_template_status_update", {
        "event": event, "message_template_id": 9001, "message_template_name": "intro_meeting_request",
        "message_template_language": "en", "reason": "NONE"}))
    template.refresh_from_db()
    assert template.meta_status == status
    offered = MessageTemplate.objects.approved_meta().filter(pk=template.pk).exists()
    assert offered is (status == "APPROVED")


def test_an_unknown_quality_value_changes_nothing(client, template):
    post_webhook(client, body("300000000000077", "message_template_quality_update", {
        "new_quality_score": "PURPLE", "message_template_id": 9001}))
    template.refresh_from_db()
    assert template.quality_score == "" and not AuditEvent.objects.filter(kind="template.synced").exists()


def test_an_edited_body_applies_as_meta_sends_it(client, template):
    post_webhook(client, body("300000000000077", "message_template_components_update", {
        "message_template_id": 9001, "message_template_name": "intro_meeting_request",
        "message_template_language": "en", "message_template_element": "Hello {{1}}, this is {{2}}. May I call?",
        "message_template_footer": "Rapport Pharma"}))
    template.refresh_from_db()
    assert template.body == "Hello {{1}}, this is {{2}}. May I call?"
    row = AuditEvent.objects.filter(kind="template.synced").latest("id")
    assert row.details["fields"] == {"body": "Hello {{1}}, this is {{2}}. May I call?"}
