"""Template rendering, quick templates and the templates endpoint."""
from datetime import timedelta

import pytest
from django.utils import timezone

from templates_app.models import MessageTemplate
from templates_app.rendering import render_template
from tests.api.conftest import ConversationFactory, api_client
from tests.factories import AccountFactory, ConsentTypeFactory, TemplateFactory, ThreadFactory

pytestmark = pytest.mark.django_db
START = MessageTemplate.Usage.START_CONVERSATION


@pytest.fixture
def thread(alex, ada, shared_number):
    return ThreadFactory(user=alex, account=ada, phone_number=shared_number)


def start_template(waba, name, order, language="en", **fields):
    return TemplateFactory(waba=waba, name=name, display_order=order, language=language, usage=START, **fields)


# --- rendering -------------------------------------------------------------------


def test_render_fills_each_binding(alex, ada, shared_number, waba):
    ConsentTypeFactory(language="en", subscribe_keywords="START, YES", unsubscribe_keywords="STOP")
    template = TemplateFactory(
        waba=waba,
        body="Dear {{1}} ({{2}}), {{3}} from {{4}} here. Reply {{5}} to join, {{6}} to leave. Hi {{7}} {{8}}.",
        bindings={"1": "account.name", "2": "account.specialty", "3": "rep.full_name", "4": "business.name",
                  "5": "consent.subscribe_keyword", "6": "consent.unsubscribe_keyword", "7": "rep.first_name",
                  "8": "rep.last_name"},
    )
    text, parameters = render_template(template=template, account=ada, user=alex, phone_number=shared_number)
    assert text == ("Dear Dr. Ada Lovelace (Cardiology), Alex Morgan from Rapport Pharma here. "
                    "Reply START to join, STOP to leave. Hi Alex Morgan.")
    assert list(parameters) == ["1", "2", "3", "4", "5", "6", "7", "8"]
    assert parameters["5"] == "START"


def test_render_orders_numeric_parameters_by_number_and_named_by_appearance(alex, ada, waba):
    numeric = TemplateFactory(waba=waba, body="{{2}} then {{1}}", bindings={"1": "account.name", "2": "rep.first_name"})
    _, parameters = render_template(template=numeric, account=ada, user=alex)
    assert list(parameters.items()) == [("1", "Dr. Ada Lovelace"), ("2", "Alex")]
    named = TemplateFactory(waba=waba, body="Hi {{doctor}}, {{ rep }} here",
                            bindings={"doctor": "account.name", "rep": "rep.full_name"})
    text, parameters = render_template(template=named, account=ada, user=alex)
    assert text == "Hi Dr. Ada Lovelace, Alex Morgan here"
    assert list(parameters) == ["doctor", "rep"]


def test_render_consent_keywords_in_hcp_language_else_english(alex, waba):
    ConsentTypeFactory(language="en", subscribe_keywords="START", unsubscribe_keywords="STOP")
    ConsentTypeFactory(language="fr", subscribe_keywords="OUI", unsubscribe_keywords="ARRET")
    template = TemplateFactory(waba=waba, body="{{1}}/{{2}}",
                               bindings={"1": "consent.subscribe_keyword", "2": "consent.unsubscribe_keyword"})
    marie = AccountFactory(language="fr")
    hans = AccountFactory(language="de")
    assert render_template(template=template, account=marie, user=alex)[0] == "OUI/ARRET"
    assert render_template(template=template, account=hans, user=alex)[0] == "START/STOP"


def test_render_media_from_extra_and_unbound_placeholder_stays_visible(alex, ada, waba):
    template = TemplateFactory(waba=waba, body="See {{1}}: {{2}} {{3}}", bindings={"1": "media.title", "2": "media.url"})
    text, parameters = render_template(template=template, account=ada, user=alex,
                                       extra={"media.title": "Deck", "media.url": "https://x.test/l/abc"})
    assert text == "See Deck: https://x.test/l/abc {{3}}"
    assert parameters == {"1": "Deck", "2": "https://x.test/l/abc"}


def test_render_rep_without_names_uses_username(ada, waba):
    from tests.factories import UserFactory

    nameless = UserFactory(username="rep.nameless", first_name="", last_name="")
    template = TemplateFactory(waba=waba, body="{{1}}", bindings={"1": "rep.full_name"})
    assert render_template(template=template, account=ada, user=nameless)[0] == "rep.nameless"


# --- quick templates -------------------------------------------------------------


def test_quick_templates_two_by_display_order_rendered(thread, waba):
    start_template(waba, "new_study_results", 3)
    start_template(waba, "follow_up_visit", 2)
    start_template(waba, "intro_meeting_request", 1)
    start_template(waba, "launch_teaser", 0, meta_status="PENDING")
    start_template(waba, "thanks_text_only", 0, kind="text_only", meta_status="")
    TemplateFactory(waba=waba, name="event_invitation", display_order=0, usage="general")
    quick = api_client(thread.user).get(f"/api/v1/threads/{thread.id}/").json()["quick_templates"]
    assert [t["name"] for t in quick] == ["intro_meeting_request", "follow_up_visit"]
    assert quick[0]["preview"] == "Hello Dr. Ada Lovelace, this is Alex Morgan."
    assert quick[0]["parameters"] == {"1": "Dr. Ada Lovelace", "2": "Alex Morgan"}


def test_quick_templates_in_hcp_language_else_waba_default(alex, shared_number, waba):
    start_template(waba, "intro_meeting_request", 1, language="fr", body="Bonjour {{1}}")
    start_template(waba, "intro_meeting_request", 1)
    start_template(waba, "follow_up_visit", 2)
    marie = AccountFactory(name="Dr. Marie Curie", language="fr", team=[alex])
    hans = AccountFactory(name="Dr. Hans", language="de", team=[alex])
    client = api_client(alex)
    french = ThreadFactory(user=alex, account=marie, phone_number=shared_number)
    german = ThreadFactory(user=alex, account=hans, phone_number=shared_number)
    quick_fr = client.get(f"/api/v1/threads/{french.id}/").json()["quick_templates"]
    assert [(t["name"], t["language"], t["preview"]) for t in quick_fr] == [
        ("intro_meeting_request", "fr", "Bonjour Dr. Marie Curie")]
    quick_de = client.get(f"/api/v1/threads/{german.id}/").json()["quick_templates"]
    assert [(t["name"], t["language"]) for t in quick_de] == [("intro_meeting_request", "en"), ("follow_up_visit", "en")]


# --- GET /templates/ -------------------------------------------------------------


@pytest.fixture
def library(waba):
    start_template(waba, "intro_meeting_request", 1)
    TemplateFactory(waba=waba, name="event_invitation", usage="general", display_order=5)
    TemplateFactory(waba=waba, name="launch_teaser", usage="general", meta_status="PENDING")
    TemplateFactory(waba=waba, name="thanks_for_time", kind="text_only", meta_status="", meta_category="",
                    display_order=7)
    TemplateFactory(waba=waba, name="conversation_closed", usage="end_conversation")
    TemplateFactory(waba=waba, name="consent_confirmation", usage="consent_confirmation")


def names_of(response):
    assert response.status_code == 200, response.content
    return [t["name"] for t in response.json()]


def test_templates_outside_window_only_approved_meta(thread, library):
    response = api_client(thread.user).get("/api/v1/templates/", {"thread": thread.id})
    assert names_of(response) == ["intro_meeting_request", "event_invitation"]
    assert response.json()[0]["preview"] == "Hello Dr. Ada Lovelace, this is Alex Morgan."


def test_templates_inside_window_include_text_only(thread, library, ada, shared_number, alex):
    ConversationFactory(account=ada, phone_number=shared_number, owner=alex, last_inbound_at=timezone.now())
    response = api_client(thread.user).get("/api/v1/templates/", {"thread": thread.id})
    assert names_of(response) == ["intro_meeting_request", "event_invitation", "thanks_for_time"]


def test_templates_filtered_by_category(thread, library):
    client = api_client(thread.user)
    assert names_of(client.get("/api/v1/templates/", {"thread": thread.id, "category": START})) == ["intro_meeting_request"]
    assert names_of(client.get("/api/v1/templates/", {"thread": thread.id, "category": "end_conversation"})) == [
        "conversation_closed"]


def test_templates_none_while_another_rep_holds_the_window(thread, library, ada, shared_number, blair):
    ConversationFactory(account=ada, phone_number=shared_number, owner=blair,
                        last_inbound_at=timezone.now() - timedelta(hours=1))
    assert names_of(api_client(thread.user).get("/api/v1/templates/", {"thread": thread.id})) == []


def test_templates_language_fallback_per_name(alex, shared_number, waba):
    start_template(waba, "intro_meeting_request", 1, language="fr", body="Bonjour {{1}}")
    start_template(waba, "intro_meeting_request", 1)
    start_template(waba, "follow_up_visit", 2)
    marie = AccountFactory(language="fr", team=[alex])
    thread = ThreadFactory(user=alex, account=marie, phone_number=shared_number)
    body = api_client(alex).get("/api/v1/templates/", {"thread": thread.id}).json()
    assert [(t["name"], t["language"]) for t in body] == [("intro_meeting_request", "fr"), ("follow_up_visit", "en")]


def test_templates_needs_a_valid_thread(alex, thread):
    client = api_client(alex)
    bad_category = client.get("/api/v1/templates/", {"thread": thread.id, "category": "nope"})
    assert bad_category.status_code == 400
    assert client.get("/api/v1/templates/", {"thread": 999999}).status_code == 404


def test_reps_read_a_templates_display_name_else_its_name_made_readable(thread):
    # given: one template with a display name, one without (Meta's names are snake case, often upper)
    waba = thread.phone_number.waba
    named = TemplateFactory(waba=waba, name="new_study_results", display_name="Study results: the 2026 data")
    plain = TemplateFactory(waba=waba, name="FOLLOW_UP_VISIT")
    # when: the catalogue is read
    listed = {t["id"]: t for t in api_client(thread.user).get("/api/v1/templates/").json()}
    # then
    assert listed[named.pk]["display_name"] == "Study results: the 2026 data"
    assert listed[plain.pk]["display_name"] == "Follow up visit"
    assert listed[plain.pk]["name"] == "FOLLOW_UP_VISIT"  # Meta's own name is still there for programs
