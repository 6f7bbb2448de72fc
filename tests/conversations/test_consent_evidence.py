"""Consent Capture records its evidence (how, what wording, by whom, when), and the HCP's own WhatsApp
setting (`user_preferences`) is a STOP like their keyword: through the API, the signed webhook, the
admin and the per-HCP export."""
import json
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.test import Client

from chats.compliance.append_only import AppendOnlyError
from chats.models import Message
from consent.models import ConsentEvent, ConsentMethod, ConsentRecord, ConsentType, ConsentWording
from tests.api.conftest import api_client
from tests.conversations.conftest import T0, hcp_says, on_commit
from tests.conversations.test_sending import send_without_running
from tests.factories import AccountFactory, ConsentMethodFactory, UserFactory
from tests.whatsapp.conftest import post_webhook, preference_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def methods(db):
    return {
        "verbal": ConsentMethodFactory(code="verbal", label="Verbal (in person or by phone)", display_order=10),
        "email": ConsentMethodFactory(code="email", label="E-mail", display_order=30),
        "crm_import": ConsentMethodFactory(code="crm_import", label="CRM import", offered_to_reps=False),
    }


@pytest.fixture
def marie_hcp(alex, blair, casey):
    """An English-speaking HCP whose consent was never captured."""
    return AccountFactory(name="Dr. Marie Curie", whatsapp_number="+447700900077", consent=False,
                          team=[alex, blair, casey])


def capture(user, account, **body):
    with on_commit():
        return api_client(user).post(f"/api/v1/accounts/{account.pk}/consent/", body, format="json")


def test_capture_without_a_method_is_refused_and_sends_nothing(alex, marie_hcp, threads, templates, methods, backend):
    # when Alex captures consent without saying how it was obtained
    response = capture(alex, marie_hcp)
    # then 400 naming `method`; no consent, no event, nothing sent
    assert response.status_code == 400 and "method" in json.dumps(response.json())
    assert not ConsentRecord.objects.filter(account=marie_hcp).exists()
    assert not ConsentEvent.objects.filter(account=marie_hcp).exists() and backend.sent == []


@pytest.mark.parametrize("method", ["crm_import", "telepathy", 5])
def test_a_method_reps_may_not_name_is_refused(alex, marie_hcp, threads, templates, methods, method):
    response = capture(alex, marie_hcp, method=method)
    assert response.status_code == 400 and "method" in json.dumps(response.json())
    assert not ConsentRecord.objects.filter(account=marie_hcp).exists()


def test_capture_records_method_wording_version_rep_and_time(alex, marie_hcp, threads, templates, methods, keywords):
    # given the English wording as it reads today
    wording_text = keywords["en"].wording
    # when Alex captures consent, obtained verbally
    response = capture(alex, marie_hcp, method="verbal")
    # then the answer, the record and the trail's event all carry the evidence
    assert response.status_code == 200, response.json()
    assert (response.json()["method"], response.json()["wording_version"]) == ("verbal", 1)
    record = ConsentRecord.objects.get(account=marie_hcp)
    event = ConsentEvent.objects.get(account=marie_hcp)
    for row in (record, event):
        assert row.method == methods["verbal"] and (row.wording.version, row.wording.text) == (1, wording_text)
    assert (record.captured_by, event.actor, event.via) == (alex, alex, "rep")
    assert event.details == {"method": "verbal", "wording_version": 1}


def test_a_changed_wording_is_a_new_version_and_old_captures_keep_theirs(
        alex, blair, marie_hcp, ada, threads, templates, methods, keywords):
    # given Marie agreed to version 1
    assert capture(alex, marie_hcp, method="verbal").status_code == 200
    # when an admin rewrites the English wording and Ada's consent is captured after it
    english = ConsentType.objects.get(language="en")
    english.wording = "I agree to WhatsApp messages about approved products only."
    english.save()
    ada.consent.delete()
    assert capture(blair, ada, method="email").status_code == 200
    # then Ada's capture names version 2, Marie's still version 1, and both texts are kept
    assert ConsentEvent.objects.get(account=ada).wording.version == 2
    assert ConsentEvent.objects.get(account=marie_hcp).wording.version == 1
    assert list(ConsentWording.objects.filter(consent_type=english).values_list("version", "text")) == [
        (2, "I agree to WhatsApp messages about approved products only."), (1, keywords["en"].wording)]
    # and a kept version cannot be rewritten
    with pytest.raises(AppendOnlyError):
        ConsentWording.objects.filter(consent_type=english).update(text="something else")


def test_the_methods_endpoint_lists_what_reps_may_name(alex, methods):
    response = api_client(alex).get("/api/v1/consent/methods/")
    assert response.status_code == 200
    codes = [m["code"] for m in response.json()]
    assert "verbal" in codes and "email" in codes and "crm_import" not in codes
    assert codes.index("verbal") < codes.index("email")


def test_the_per_hcp_export_shows_the_evidence(alex, marie_hcp, threads, templates, methods, keywords):
    capture(alex, marie_hcp, method="verbal")
    staff = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff)
    rows = json.loads(b"".join(client.get(f"/api/v1/accounts/{marie_hcp.pk}/history/?format=json").streaming_content))
    event = next(r for r in rows if r["record"] == "consent_event")
    record = next(r for r in rows if r["record"] == "consent_record")
    for row in (event, record):
        assert row["actor"] == "rep.alex" and row["at"]
        assert row["details"]["method"] == "verbal"
        assert row["details"]["method_label"] == "Verbal (in person or by phone)"
        assert (row["details"]["wording_version"], row["details"]["wording"]) == (1, keywords["en"].wording)


def test_the_web_chat_asks_for_the_method_with_the_wording_in_view(client, alex, marie_hcp, threads, templates,
                                                                   methods, keywords):
    from chats.inbox.services import thread_get_or_create

    thread, _ = thread_get_or_create(user=alex, account=marie_hcp)
    client.force_login(alex)
    page = client.get(f"/chats/{thread.pk}/").content.decode()
    assert 'data-testid="consent-dialog"' in page and keywords["en"].wording.split(".")[0] in page
    assert 'data-testid="consent-method-verbal"' in page and 'data-testid="consent-method-email"' in page
    assert 'data-testid="consent-method-crm_import"' not in page


def test_admin_opt_in_needs_a_method_and_records_it(marie_hcp, methods, keywords):
    admin_user = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin_user)
    form = {"account": marie_hcp.pk, "consent_type": keywords["en"].pk, "status": "opted_in"}
    response = client.post("/admin/consent/consentrecord/add/", form)
    assert response.status_code == 200 and "Say how the HCP gave consent." in response.content.decode()
    assert not ConsentRecord.objects.filter(account=marie_hcp).exists()
    response = client.post("/admin/consent/consentrecord/add/", {**form, "method": methods["email"].pk})
    assert response.status_code == 302
    event = ConsentEvent.objects.get(account=marie_hcp)
    assert (event.via, event.actor, event.method, event.wording.version) == ("admin", admin_user, methods["email"], 1)


def test_admin_editing_the_wording_keeps_each_version(keywords):
    admin_user = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin_user)
    english = keywords["en"]
    form = {"name": english.name, "language": "en", "subscribe_keywords": "START", "unsubscribe_keywords": "STOP",
            "wording": "Version two of the wording.",
            "wordings-TOTAL_FORMS": "0", "wordings-INITIAL_FORMS": "0"}
    response = client.post(f"/admin/consent/consenttype/{english.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert list(english.wordings.values_list("version", "text")) == [(1, "Version two of the wording.")]
    client.post(f"/admin/consent/consenttype/{english.pk}/change/", {**form, "wording": "Version three."})
    client.post(f"/admin/consent/consenttype/{english.pk}/change/", {**form, "wording": "Version three."})
    assert list(english.wordings.values_list("version", flat=True)) == [2, 1]


# --- Meta's user_preferences: the HCP's own STOP from WhatsApp's settings ---------------------------------


def preference(client, *, account, number, value, at):
    response = post_webhook(client, preference_body(number=number, account=account, value=value,
                                                    ts=int(at.timestamp())))
    assert response.status_code == 200
    return response


def test_a_preference_stop_opts_out_fails_queued_and_no_rep_can_undo_it(
        client, alex, ada, threads, shared_number, templates, methods, backend):
    # given Alex's template to Ada is queued (the worker lags)
    queued = send_without_running(threads["rep.alex"], templates["intro"])
    # when Ada stops marketing messages in WhatsApp's settings
    preference(client, account=ada, number=shared_number, value="stop", at=T0)
    # then she is opted out by her own act, the queued message failed, and the trail says why
    ada.consent.refresh_from_db()
    assert (ada.consent.status, ada.consent.captured_via) == ("opted_out", "preference")
    queued.refresh_from_db()
    assert (queued.status, queued.failure_code) == ("failed", "opted_out")
    event = ConsentEvent.objects.get(account=ada)
    assert (event.previous_status, event.status, event.via, event.details["preference"]) == (
        "opted_in", "opted_out", "preference", "stop")
    # and a rep's capture cannot undo it
    response = capture(alex, ada, method="verbal")
    assert (response.status_code, response.json()["code"]) == (409, "opted_out_by_hcp")
    # nor can WhatsApp's "resume": it is kept in the trail and changes nothing
    preference(client, account=ada, number=shared_number, value="resume", at=T0 + timedelta(minutes=1))
    ada.consent.refresh_from_db()
    assert ada.consent.status == "opted_out"
    resume = ConsentEvent.objects.filter(account=ada).latest("id")
    assert (resume.previous_status, resume.status, resume.details["preference"]) == ("opted_out", "opted_out",
                                                                                     "resume")
    # only her own subscribe keyword opts her in again
    hcp_says(client, account=ada, number=shared_number, text="START", at=T0 + timedelta(minutes=2))
    ada.consent.refresh_from_db()
    assert ada.consent.status == "opted_in"


def test_a_preference_stop_older_than_the_hcps_start_changes_nothing(client, ada, shared_number, templates):
    # given Ada said START at 10:01 (WhatsApp's time); her settings' stop of 10:00 arrives after it
    hcp_says(client, account=ada, number=shared_number, text="START", at=T0 + timedelta(minutes=1))
    preference(client, account=ada, number=shared_number, value="stop", at=T0)
    # then she stays opted in; the late stop is in the trail, superseded
    ada.consent.refresh_from_db()
    assert ada.consent.status == "opted_in"
    late = ConsentEvent.objects.filter(account=ada).latest("id")
    assert (late.via, late.status, late.details["superseded"]) == ("preference", "opted_in", True)


def test_the_same_preference_body_twice_writes_one_event(client, ada, shared_number, templates):
    preference(client, account=ada, number=shared_number, value="stop", at=T0)
    preference(client, account=ada, number=shared_number, value="stop", at=T0)
    assert ConsentEvent.objects.filter(account=ada, via="preference").count() == 1


def test_a_preference_from_someone_who_is_no_hcp_is_processed_quietly(client, shared_number, templates):
    from chats.models import WebhookEvent

    stranger = SimpleNamespace(wa_id="447700900999")
    preference(client, account=stranger, number=shared_number, value="stop", at=T0)
    event = WebhookEvent.objects.latest("id")
    assert event.processed_at is not None and not event.error
    assert not ConsentEvent.objects.exists() and not Message.objects.exists()


def test_methods_are_seeded_by_the_migration():
    # a fresh install offers verbal, written and e-mail to reps, and keeps CRM import for integrations
    assert set(ConsentMethod.objects.filter(offered_to_reps=True).values_list("code", flat=True)) >= {
        "verbal", "written", "email"}
    assert ConsentMethod.objects.get(code="crm_import").offered_to_reps is False
