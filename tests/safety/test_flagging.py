"""Possible adverse events found at ingest: terms in both languages, however they are hidden, in every kind
of text an HCP sends; one case per message, due a deadline after Rapport received it."""
from datetime import timedelta

import pytest
import time_machine

from chats.models import Message, SafetyCase, SafetyCaseEvent
from tests.safety.conftest import T0, api_client, hcp_sends, hcp_writes, post_webhook, text_body

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("text, phrase, language", [
    ("My patient developed a rash after the second dose of Cholecap", "rash", "en"),
    ("Any known side effects with statins?", "side effect", "en"),
    ("She was hospitalized on Monday", r"hospitali[sz](ed|ation)", "en"),
    ("Mon patient a eu un effet indésirable grave", "effet indésirable", "fr"),
], ids=["rash-en", "side-effect-en", "regex-en", "effet-indesirable-fr"])
def test_a_term_in_either_language_opens_a_case(client, lexicon, solo_number, ada, alex, text, phrase, language):
    # when the HCP writes it
    message = hcp_writes(client, number=solo_number, account=ada, text=text)
    # then the message has a case, on Alex's thread, naming the term
    case = SafetyCase.objects.get(message=message)
    assert (case.account, case.rep, case.status) == (ada, alex, "open")
    assert [(t["phrase"], t["language"]) for t in case.matched_terms] == [(phrase, language)]
    assert list(case.trail.values_list("kind", "actor")) == [("flagged", None)]


def test_the_product_named_is_recorded(client, lexicon, solo_number, ada):
    message = hcp_writes(client, number=solo_number, account=ada, text="Rash after two doses of CHOLECAP.")
    assert SafetyCase.objects.get(message=message).products == ["Cholecap"]


@pytest.mark.parametrize("text", [
    "my patient had a s i d e e f f e c t",  # letters spelled out
    "side eff\u200bect reported",  # a zero-width space inside the word
    "side   \n effect reported",  # a run of spaces
    "ＲＡＳＨ on both arms",  # full-width letters
    "an ad\u00adverse reaction",  # a soft hyphen
    "un effet\u00a0indésirable",  # a no-break space
], ids=["spelled-out", "zero-width", "spaces", "fullwidth", "soft-hyphen", "nbsp-fr"])
def test_spacing_and_invisible_characters_do_not_hide_a_term(client, lexicon, solo_number, ada, text):
    message = hcp_writes(client, number=solo_number, account=ada, text=text)
    assert SafetyCase.objects.filter(message=message).exists()


@pytest.mark.parametrize("text", [
    "Could you send me the Cholecap efficacy deck?",  # a product alone is no report
    "The server crashed again",  # `rash` is an exact word
    "Thanks, see you Tuesday",
], ids=["product-only", "not-a-word", "small-talk"])
def test_a_message_that_reports_nothing_opens_no_case(client, lexicon, solo_number, ada, text):
    message = hcp_writes(client, number=solo_number, account=ada, text=text)
    assert not SafetyCase.objects.filter(message=message).exists()
    assert message.body == text


@pytest.mark.parametrize("wa_type, content", [
    ("image", {"id": "", "mime_type": "image/jpeg", "caption": "Photo of the rash"}),
    ("document", {"mime_type": "application/pdf", "filename": "adverse-event-form.pdf"}),
    ("interactive", {"type": "button_reply", "button_reply": {"id": "ae", "title": "Report a side effect"}}),
    ("location", {"latitude": 48.85, "longitude": 2.35, "name": "Hôpital — patient hospitalised",
                  "address": "Paris"}),
], ids=["caption", "document-name", "interactive-reply", "location-name"])
def test_every_text_an_hcp_sends_is_checked(client, lexicon, solo_number, ada, wa_type, content):
    message = hcp_sends(client, number=solo_number, account=ada, wa_type=wa_type, content=content)
    assert SafetyCase.objects.filter(message=message).exists()


def test_a_replayed_webhook_opens_one_case(client, lexicon, solo_number, ada):
    body = text_body(number=solo_number, account=ada, text="Severe rash", wamid="wamid.REPLAY")
    for _ in range(3):
        assert post_webhook(client, body).status_code == 200
    assert SafetyCase.objects.filter(message__wamid="wamid.REPLAY").count() == 1
    assert SafetyCaseEvent.objects.filter(case__message__wamid="wamid.REPLAY").count() == 1


def test_the_deadline_runs_from_receipt(client, settings, lexicon, solo_number, ada):
    # given a deadline of 8 hours, a report received at T0
    settings.SAFETY_CASE_DEADLINE_HOURS = 8
    with time_machine.travel(T0, tick=False):
        message = hcp_writes(client, number=solo_number, account=ada, text="Patient hospitalised")
    case = SafetyCase.objects.get(message=message)
    # then it is due eight hours later, and the queue tells due soon from overdue
    assert (case.received_at, case.due_at) == (T0, T0 + timedelta(hours=8))
    staff = _staff()
    for at, due, listed in [(T0 + timedelta(hours=1), "due_soon", False), (T0 + timedelta(hours=5), "due_soon", True),
                            (T0 + timedelta(hours=8), "overdue", True), (T0 + timedelta(hours=7), "overdue", False)]:
        with time_machine.travel(at, tick=False):
            ids = [c["id"] for c in api_client(staff).get(f"/api/v1/safety-cases/?due={due}").json()["results"]]
        assert (case.pk in ids) == listed, (at, due)


def test_the_message_shape_and_its_event_carry_the_case(client, lexicon, solo_number, ada, alex, published):
    # when the HCP reports a rash
    with time_machine.travel(T0, tick=False):
        message = hcp_writes(client, number=solo_number, account=ada, text="A rash, again")
    case = SafetyCase.objects.get(message=message)
    brief = {"id": case.pk, "status": "open", "due_at": "2026-03-03T09:00:00Z"}
    # then the rep hears of the message with its case, then of the case
    assert [(c.args[0], c.args[1]) for c in published.call_args_list] == [
        (alex.pk, "thread.state"), (alex.pk, "message.created"), (alex.pk, "safety_case.changed")]
    assert published.call_args_list[1].args[2]["message"]["safety_case"] == brief
    changed = published.call_args_list[2].args[2]
    assert changed["message"] == {"id": message.pk, "safety_case": brief}
    assert changed["safety_case"]["matched_terms"][0]["text"] == "rash"
    # and the thread's messages say the same
    listed = api_client(alex).get(f"/api/v1/threads/{message.thread_id}/messages/").json()["results"]
    assert [m["safety_case"] for m in listed] == [brief]


def test_an_outbound_message_never_has_a_case(lexicon, solo_number, ada, alex):
    from chats.realtime.payloads import message_fields
    from tests.factories import ThreadFactory

    thread = ThreadFactory(user=alex, account=ada, phone_number=solo_number)
    message = Message.objects.create(thread=thread, direction="outbound", kind="text", body="rash", account=ada,
                                     phone_number=solo_number)
    assert message_fields(message)["safety_case"] is None


def _staff():
    from tests.factories import UserFactory

    return UserFactory(username="safety.officer", is_staff=True, is_superuser=True)
