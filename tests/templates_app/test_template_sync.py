"""Template sync from GET /{waba_id}/message_templates, with paging."""
import pytest
from django.core.management import call_command

from templates_app.models import MessageTemplate
from templates_app.services import sync_templates
from tests.factories import TemplateFactory, WabaFactory
from tests.whatsapp.fake_graph import Scripted

pytestmark = pytest.mark.django_db


def _template(tid, name, language, status, body, category="MARKETING"):
    return {"id": tid, "name": name, "language": language, "status": status, "category": category,
            "components": [{"type": "HEADER", "format": "TEXT", "text": "Hi"}, {"type": "BODY", "text": body},
                          {"type": "FOOTER", "text": "Reply STOP to opt out"}]}


@pytest.fixture
def two_pages(fake_graph):
    waba = WabaFactory(waba_id="300000000000001", access_token="waba-token")
    base = "/v26.0/300000000000001/message_templates"
    fake_graph.pages[base] = {
        "data": [_template("11", "visit_follow_up", "en", "APPROVED", "Hello {{1}}, thanks for your time."),
                 _template("12", "sample_offer", "en", "PAUSED", "Samples are available, {{1}}.")],
        "paging": {"cursors": {"before": "B1", "after": "A1"}, "next": f"{fake_graph.url}{base}?after=A1&limit=2"},
    }
    fake_graph.pages[base + "?after=A1"] = {
        "data": [_template("13", "visite_suivi", "fr", "APPROVED", "Bonjour {{1}}", category="UTILITY"),
                 _template("14", "promo", "en", "REJECTED", "Promo")],
        "paging": {"cursors": {"before": "B2", "after": "A2"}},
    }
    return waba


def test_two_pages_are_read_and_upserted(fake_graph, two_pages):
    # given: a local template whose bindings and usage admins set, now paused at Meta
    kept = TemplateFactory(waba=two_pages, name="sample_offer", language="en", meta_status="APPROVED",
                           usage="start_conversation", body="old", bindings={"1": "account.name"})
    # when
    result = sync_templates(waba=two_pages)
    # then: both pages were asked for, with the WABA's token
    gets = [r for r in fake_graph.requests if r.method == "GET"]
    assert len(gets) == 2 and gets[1].query["after"] == ["A1"]
    assert gets[0].headers["Authorization"] == "Bearer waba-token"
    assert sorted(result.created) == ["promo [en]", "visit_follow_up [en]", "visite_suivi [fr]"]
    assert result.updated == ["sample_offer [en]"] and result.withdrawn == ["sample_offer [en]"]
    kept.refresh_from_db()
    assert kept.meta_status == "PAUSED" and kept.meta_template_id == "12"
    assert kept.body == "Samples are available, {{1}}." and kept.usage == "start_conversation"
    assert kept.bindings == {"1": "account.name"}
    fr = MessageTemplate.objects.get(name="visite_suivi")
    assert (fr.meta_status, fr.meta_category, fr.body, fr.kind) == ("APPROVED", "UTILITY", "Bonjour {{1}}", "meta")
    offered = {t.name for t in MessageTemplate.objects.all() if t.is_sendable_outside_window}
    assert offered == {"visit_follow_up", "visite_suivi"}


def test_sync_twice_is_stable(fake_graph, two_pages):
    sync_templates(waba=two_pages)
    second = sync_templates(waba=two_pages)
    assert second.created == [] and len(second.updated) == 4
    assert MessageTemplate.objects.count() == 4


def test_command_and_beat_task(fake_graph, two_pages, capsys, settings):
    call_command("sync_templates")
    assert "4 created" in capsys.readouterr().out
    from templates_app.tasks import sync_all_templates_task

    assert "0 created, 4 updated" in sync_all_templates_task.delay().result[0]
    entry = settings.CELERY_BEAT_SCHEDULE["sync-whatsapp-templates"]
    assert entry["task"] == "templates_app.tasks.sync_all_templates_task" and entry["schedule"] == 3600.0


def test_sandbox_has_nothing_to_sync(settings):
    settings.WHATSAPP_BACKEND = "sandbox"
    assert sync_templates(waba=WabaFactory()).skipped


def test_admin_action_syncs_the_selected_waba(fake_graph, two_pages, admin_client):
    # when an admin runs the action on the WABA
    response = admin_client.post(
        "/admin/chats/whatsappbusinessaccount/",
        {"action": "sync_message_templates", "_selected_action": [two_pages.pk]},
        follow=True,
    )
    # then the templates of both pages are stored and the admin is told what changed
    assert response.status_code == 200
    assert "4 created" in response.content.decode()
    assert MessageTemplate.objects.filter(waba=two_pages).count() == 4


def test_admin_action_reports_meta_errors_without_failing(fake_graph, admin_client):
    waba = WabaFactory(waba_id="300000000000009")
    fake_graph.pages["/v26.0/300000000000009/message_templates"] = Scripted(
        500, {"error": {"code": 1, "message": "An unknown error occurred", "type": "OAuthException"}})
    response = admin_client.post(
        "/admin/chats/whatsappbusinessaccount/",
        {"action": "sync_message_templates", "_selected_action": [waba.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "could not be read" in response.content.decode()
    assert not MessageTemplate.objects.filter(waba=waba).exists()
