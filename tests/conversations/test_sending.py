"""Sending through POST /threads/{id}/messages/: consent, templates first, phrases, replies, idempotency, media."""
from datetime import timedelta

import pytest
import time_machine

from chats.api.serializers import MessageOutput
from chats.delivery.handoff import payload_for
from chats.models import AuditEvent, Message, Thread
from consent.models import ConsentEvent
from media_links.models import WebLink
from tests.api.conftest import add_phrase, api_client
from tests.conversations.conftest import T0, hcp_says, on_commit, send
from tests.factories import AccountFactory, MediaItemFactory, ThreadFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def thread(threads):
    return threads["rep.alex"]


@pytest.fixture
def open_window(client, thread, templates, ada, shared_number):
    """Alex sent the intro template at T0 and Ada answered at T0 + 1 min: Alex holds an open window."""
    with time_machine.travel(T0, tick=False):
        assert send(thread, template=templates["intro"]).status_code == 201
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        hcp_says(client, account=ada, number=shared_number, text="Yes please", at=T0 + timedelta(minutes=1))
    return thread


def at(minutes=5):
    return time_machine.travel(T0 + timedelta(minutes=minutes), tick=False)


# --- license and ownership ---------------------------------------------------------------------

def test_every_chat_endpoint_refuses_a_user_without_the_license(drew, thread, ada):
    client = api_client(drew)
    calls = [("get", "/api/v1/accounts/"), ("get", f"/api/v1/accounts/{ada.pk}/"),
             ("post", f"/api/v1/accounts/{ada.pk}/consent/"), ("get", "/api/v1/threads/"), ("post", "/api/v1/threads/"),
             ("get", f"/api/v1/threads/{thread.pk}/"), ("post", f"/api/v1/threads/{thread.pk}/read/"),
             ("get", f"/api/v1/threads/{thread.pk}/messages/"), ("post", f"/api/v1/threads/{thread.pk}/messages/"),
             ("post", f"/api/v1/threads/{thread.pk}/end/"), ("get", f"/api/v1/templates/?thread={thread.pk}"),
             ("get", "/api/v1/media/"), ("post", "/api/v1/restricted-phrases/check/")]
    for method, path in calls:
        response = getattr(client, method)(path, {}, format="json")
        assert (response.status_code, response.json()["code"]) == (403, "license_required"), path
    assert not Message.objects.exists()


def test_another_reps_thread_is_not_found(blair, thread, templates):
    client = api_client(blair)
    for path in [f"/api/v1/threads/{thread.pk}/messages/", f"/api/v1/threads/{thread.pk}/end/"]:
        response = client.post(path, {"kind": "template", "template": templates["intro"].pk,
                                      "client_id": "8c1e2f0a-6a43-4c1e-9d8b-1a2b3c4d5e6f"}, format="json")
        assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert not Message.objects.exists()


def test_consent_for_an_account_one_may_not_see_is_not_found(alex, shared_number, templates):
    stranger = AccountFactory(team=[], consent=False)
    response = api_client(alex).post(f"/api/v1/accounts/{stranger.pk}/consent/", {"method": "verbal"}, format="json")
    assert response.status_code == 404
    assert not ConsentEvent.objects.exists()


# --- consent -----------------------------------------------------------------------------------

def test_consent_capture_opts_in_and_confirms_in_french(alex, marie, shared_number, templates, backend):
    # given: Marie (fr) never gave consent, so nothing can be sent
    marie.consent.delete()
    thread = ThreadFactory(user=alex, account=marie, phone_number=shared_number)
    refused = send(thread, template=templates["intro_fr"])
    assert (refused.status_code, refused.json()["code"]) == (409, "consent_required")
    # when: Alex captures her consent
    with on_commit():
        response = api_client(alex).post(f"/api/v1/accounts/{marie.pk}/consent/", {"method": "verbal"}, format="json")
    # then: opted in, logged, and the French confirmation with the French keywords went out
    body = response.json()
    assert response.status_code == 200 and body["consent_status"] == "opted_in" and body["thread"] == thread.pk
    event = ConsentEvent.objects.get(account=marie)
    assert (event.previous_status, event.status, event.via, event.actor) == ("not_captured", "opted_in", "rep", alex)
    assert "OUI" in body["confirmation"]["body"] and "ARRET" in body["confirmation"]["body"]
    [payload] = backend.sent
    assert payload["template"]["name"] == "consent_confirmation" and payload["template"]["language"]["code"] == "fr"
    assert [p["text"] for p in payload["template"]["components"][0]["parameters"]] == ["OUI", "ARRET"]


def test_consent_capture_in_english(alex, ada, thread, templates, backend):
    ada.consent.delete()  # not captured yet
    with on_commit():
        body = api_client(alex).post(f"/api/v1/accounts/{ada.pk}/consent/", {"method": "verbal"}, format="json").json()
    assert "START" in body["confirmation"]["body"] and "STOP" in body["confirmation"]["body"]
    assert backend.sent[0]["template"]["language"]["code"] == "en"


def test_a_rep_cannot_undo_the_hcps_own_opt_out(client, alex, ada, thread, shared_number, templates, backend):
    # given Ada opted out herself, with the STOP keyword
    hcp_says(client, account=ada, number=shared_number, text="STOP", at=T0)
    # when Alex tries to capture her consent
    with on_commit():
        response = api_client(alex).post(f"/api/v1/accounts/{ada.pk}/consent/", {"method": "verbal"}, format="json")
    # then 409 opted_out_by_hcp, she stays opted out, and nothing was sent
    assert (response.status_code, response.json()["code"]) == (409, "opted_out_by_hcp")
    assert "subscribe keyword" in response.json()["detail"]
    ada.consent.refresh_from_db()
    assert ada.consent.status == "opted_out"
    assert ConsentEvent.objects.filter(account=ada).count() == 1 and backend.sent == []
    # and only her own subscribe keyword opts her in again, after which a rep may capture as before
    hcp_says(client, account=ada, number=shared_number, text="START", at=T0 + timedelta(minutes=1))
    ada.consent.refresh_from_db()
    assert ada.consent.status == "opted_in"
    with on_commit():
        assert api_client(alex).post(f"/api/v1/accounts/{ada.pk}/consent/", {"method": "verbal"}, format="json").status_code == 200


def test_keywords_apply_in_whatsapps_order_an_older_one_arriving_late_changes_nothing(
        client, ada, shared_number, templates):
    # given Ada said STOP at 10:01 (WhatsApp's time), and her START of 10:00 reaches us only after it
    hcp_says(client, account=ada, number=shared_number, text="STOP", at=T0 + timedelta(minutes=1))
    hcp_says(client, account=ada, number=shared_number, text="START", at=T0)
    # then she stays opted out; the late START is in the trail, marked superseded, changing nothing
    ada.consent.refresh_from_db()
    assert ada.consent.status == "opted_out"
    stop, start = ConsentEvent.objects.filter(account=ada).order_by("id")
    assert (stop.previous_status, stop.status) == ("opted_in", "opted_out")
    assert (start.previous_status, start.status, start.details["keyword"], start.details["superseded"]) == (
        "opted_out", "opted_out", "START", True)
    # and a keyword of the same second, or later, still applies in the order it came
    hcp_says(client, account=ada, number=shared_number, text="START", at=T0 + timedelta(minutes=1))
    ada.consent.refresh_from_db()
    assert ada.consent.status == "opted_in"


def test_an_admins_opt_out_can_be_followed_by_a_reps_capture(alex, ada, thread, templates, backend):
    from consent.services import consent_set_by_admin

    consent_set_by_admin(account=ada, status="opted_out", actor=UserFactory(is_staff=True))
    with on_commit():
        response = api_client(alex).post(f"/api/v1/accounts/{ada.pk}/consent/", {"method": "verbal"}, format="json")
    assert response.status_code == 200 and response.json()["consent_status"] == "opted_in"


@pytest.mark.parametrize("keyword", ["stop", " Stop ", "STOP", "ＳＴＯＰ", "arret"])
def test_keyword_only_message_opts_out_at_once(client, keyword, thread, ada, shared_number, templates):
    # given: Alex's template to Ada is queued (its send task has not run yet)
    queued = send_without_running(thread, templates["intro"])
    # when: Ada writes only the keyword
    hcp_says(client, account=ada, number=shared_number, text=keyword, at=T0)
    # then: she is opted out, it is logged, and the queued message failed opted_out
    ada.consent.refresh_from_db()
    assert ada.consent.status == "opted_out"
    event = ConsentEvent.objects.get(account=ada)
    assert (event.status, event.via, event.details["keyword"]) == ("opted_out", "keyword", keyword.strip())
    queued.refresh_from_db()
    assert (queued.status, queued.failure_code) == ("failed", "opted_out")
    assert AuditEvent.objects.filter(kind="message.failed", message=queued).exists()


def test_a_message_with_more_than_the_keyword_changes_nothing(client, thread, ada, shared_number, templates):
    send(thread, template=templates["intro"])
    hcp_says(client, account=ada, number=shared_number, text="please stop by on Monday", at=T0)
    ada.consent.refresh_from_db()
    assert ada.consent.status == "opted_in" and not ConsentEvent.objects.exists()


def send_without_running(thread, template) -> Message:
    """Queue a template through the API but keep the send task from running (as if the worker lags)."""
    import uuid

    response = api_client(thread.user).post(f"/api/v1/threads/{thread.pk}/messages/", {
        "kind": "template", "template": template.pk, "client_id": str(uuid.uuid4())}, format="json")
    assert response.status_code == 201
    return Message.objects.get(pk=response.json()["id"])


def test_send_task_does_not_hand_a_message_to_meta_after_an_opt_out(thread, ada, templates, backend):
    # given: a queued message, then the HCP opted out some other way (admin)
    queued = send_without_running(thread, templates["intro"])
    ada.consent.status = "opted_out"
    ada.consent.save()
    # when: the worker finally runs the send task
    from chats.tasks import send_message_task
    send_message_task.delay(queued.pk)
    # then: the backend was never called and the message failed opted_out
    assert backend.sent == []
    queued.refresh_from_db()
    assert (queued.status, queued.failure_code, queued.wamid) == ("failed", "opted_out", None)


def test_opted_out_and_not_captured_are_refused(thread, ada, templates):
    ada.consent.status = "opted_out"
    ada.consent.save()
    response = send(thread, template=templates["intro"])
    assert (response.status_code, response.json()["code"]) == (409, "opted_out")
    ada.consent.delete()
    response = send(thread, template=templates["intro"])
    assert (response.status_code, response.json()["code"]) == (409, "consent_required")
    assert not Message.objects.exists()
    assert AuditEvent.objects.filter(kind="send.refused").count() == 2


# --- templates first ---------------------------------------------------------------------------

def test_outside_a_window_only_approved_meta_templates_go(thread, templates, backend):
    media = MediaItemFactory()
    for body, code in [({"text": "Hi"}, "window_closed"), ({"template": templates["pending"]}, "template_not_approved"),
                       ({"template": templates["paused"]}, "template_not_approved"),
                       ({"template": templates["thanks"]}, "window_closed"), ({"media": media.pk}, "window_closed")]:
        response = send(thread, **body)
        assert (response.status_code, response.json()["code"]) == (409, code), body
    assert not Message.objects.exists() and backend.sent == []
    response = send(thread, template=templates["intro"])
    assert response.status_code == 201 and response.json()["status"] == "queued"  # answered before the task ran
    assert Message.objects.get(pk=response.json()["id"]).status == "sent"
    assert backend.sent[0]["type"] == "template" and backend.sent[0]["template"]["name"] == "intro_meeting_request"


def test_inside_the_window_text_and_text_only_templates_go(open_window, templates, backend):
    with at(10):
        text = send(open_window, text="Here it is")
        thanks = send(open_window, template=templates["thanks"])
    assert text.status_code == 201 and thanks.status_code == 201
    assert thanks.json()["body"] == "Thank you for your time, Dr. Ada Lovelace."
    assert backend.sent[-1]["type"] == "text"
    assert backend.sent[-1]["text"]["body"] == "Thank you for your time, Dr. Ada Lovelace."
    # a pending Meta template stays refused even inside the window
    with at(11):
        pending = send(open_window, template=templates["pending"])
    assert (pending.status_code, pending.json()["code"]) == (409, "template_not_approved")


# --- restricted phrases ------------------------------------------------------------------------

def test_restricted_phrases_are_refused_with_their_positions(open_window, templates, backend):
    add_phrase("guaranteed", "exact")
    add_phrase("Ada", "contains")
    media = MediaItemFactory(title="Guaranteed results")
    sent_before = len(backend.sent)
    with at(10):
        text = send(open_window, text="Results guaranteed!")
        rendered = send(open_window, template=templates["thanks"])  # "Ada" appears only after rendering
        link = send(open_window, media=media.pk)
    assert text.status_code == 422 and text.json()["code"] == "restricted_phrases"
    match = text.json()["matches"][0]
    assert (match["start"], match["end"], match["phrase"]) == (8, 18, "guaranteed")
    [match] = rendered.json()["matches"]
    assert (rendered.status_code, match["phrase"]) == (422, "Ada")
    assert "Thank you for your time, Dr. Ada Lovelace."[match["start"]:match["end"]] == "Ada"
    assert link.status_code == 422 and link.json()["matches"][0]["start"] == 0
    assert Message.objects.filter(direction="outbound").count() == 1  # only the intro template
    assert len(backend.sent) == sent_before and not WebLink.objects.exists()
    assert AuditEvent.objects.filter(kind="send.restricted_phrases").count() == 3


# --- replies and idempotency -------------------------------------------------------------------

def test_a_reply_carries_context_message_id(open_window, backend):
    inbound = Message.objects.get(direction="inbound")
    with at(10):
        response = send(open_window, text="Sure", reply_to=inbound.pk)
    assert response.status_code == 201 and response.json()["reply_to"]["id"] == inbound.pk
    assert backend.sent[-1]["context"] == {"message_id": inbound.wamid}
    assert payload_for(Message.objects.get(pk=response.json()["id"]))["context"]["message_id"] == inbound.wamid


@pytest.mark.django_db(transaction=True)  # real commits: after-commit work runs as in production, not as captured
def test_the_answer_is_the_queued_row_and_the_rep_hears_of_it_before_its_status(open_window, alex, backend, published):
    # given Ada's question in Alex's open window
    inbound = Message.objects.get(direction="inbound")
    published.reset_mock()
    # when Alex answers it (the send task runs at commit, as a worker would right after)
    with at(10):
        response = send(open_window, text="Sure", reply_to=inbound.pk)
    # then the answer is the row as queued, built from the objects in hand, nothing missing
    answer = response.json()
    assert (answer["body"], answer["status"], answer["direction"], answer["wamid"]) == ("Sure", "queued", "outbound", None)
    assert answer["reply_to"] == {"id": inbound.pk, "wamid": inbound.wamid, "direction": "inbound", "quote": inbound.body}
    assert answer["sender"] == {"id": alex.pk, "username": alex.username, "full_name": alex.get_full_name()}
    stored = MessageOutput(Message.objects.get(pk=answer["id"])).data
    assert {k: v for k, v in answer.items() if k not in ("status", "sent_at", "wamid")} == \
        {k: v for k, v in stored.items() if k not in ("status", "sent_at", "wamid")}
    # and the rep's page hears of the message and its state before the send task's status
    assert [c.args[1] for c in published.call_args_list] == ["message.created", "thread.state", "message.status"]
    assert published.call_args_list[2].args[2]["message"]["status"] == "sent"


def test_a_reply_reaches_the_cloud_api_json(fake_graph, open_window):
    inbound = Message.objects.get(direction="inbound")
    with at(10):
        assert send(open_window, text="Sure", reply_to=inbound.pk).status_code == 201
    posted = fake_graph.messages_posted()[-1].json
    assert posted["context"] == {"message_id": inbound.wamid} and posted["text"]["body"] == "Sure"


def test_reply_to_a_message_of_another_thread_is_refused(open_window, blair, ada, shared_number):
    other = ThreadFactory(user=blair, account=AccountFactory(team=[blair]), phone_number=shared_number)
    foreign = Message.objects.create(thread=other, account=other.account, phone_number=shared_number,
                                     direction="inbound", body="x", status="received")
    with at(10):
        response = send(open_window, text="Sure", reply_to=foreign.pk)
    assert (response.status_code, response.json()["code"]) == (400, "invalid")


def test_the_same_client_id_returns_the_first_message_and_sends_once(thread, templates, backend):
    key = "0b7d6f2e-1c5a-4a8e-b1e2-9f8e7d6c5b4a"
    first = send(thread, template=templates["intro"], client_id=key)
    again = send(thread, template=templates["intro"], client_id=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert len(backend.sent) == 1 and Message.objects.count() == 1


def test_a_client_id_that_slipped_past_the_look_up_still_answers_with_the_first_message(
        thread, templates, backend, monkeypatch):
    # given a first send, and a look-up that misses it (as a race past the lock would)
    from chats.conversations import sending

    key = "6f1c8a52-0c4e-4b8e-9a3e-2f1d9c7b5a10"
    first = send(thread, template=templates["intro"], client_id=key)
    fresh = sending.thread_fresh

    def missing_the_first(thread, *, client_id=None):
        reloaded = fresh(thread, client_id=client_id)
        reloaded.sent_before_id = None
        return reloaded

    monkeypatch.setattr(sending, "thread_fresh", missing_the_first)
    # when the same client_id comes again, the INSERT meets the unique constraint
    again = send(thread, template=templates["intro"], client_id=key)
    # then the answer is the first message, nothing is sent twice, and no queued audit row was added
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert len(backend.sent) == 1 and Message.objects.count() == 1
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.MESSAGE_QUEUED).count() == 1


# --- media links -------------------------------------------------------------------------------

def test_media_list_has_only_enabled_items(alex, shared_number):
    enabled = MediaItemFactory(title="Cholecap HCP Portal")
    MediaItemFactory(title="Field Training Module", web_link_enabled=False)
    items = api_client(alex).get("/api/v1/media/").json()
    assert [i["id"] for i in items] == [enabled.pk]


def test_media_send_creates_a_tracked_link_that_counts_and_expires(client, open_window, backend):
    media = MediaItemFactory(title="Cholecap Efficacy Deck", url="https://cdn.example.com/deck")
    with at(10):
        response = send(open_window, media=media.pk, text="The deck")
    assert response.status_code == 201
    link = WebLink.objects.get()
    url = f"https://rapport.example.com/l/{link.token}"
    assert url in response.json()["body"] and link.message_id == response.json()["id"]
    assert backend.sent[-1]["text"] == {"preview_url": True, "body": response.json()["body"]}
    with at(20):
        opened = client.get(f"/l/{link.token}")
    assert (opened.status_code, opened["Location"]) == (302, "https://cdn.example.com/deck")
    link.refresh_from_db()
    assert link.open_count == 1
    with time_machine.travel(link.expires_at + timedelta(seconds=1), tick=False):
        expired = client.get(f"/l/{link.token}")
    assert expired.status_code == 410 and b"expired" in expired.content.lower()


def test_a_disabled_media_item_cannot_be_sent(open_window):
    media = MediaItemFactory(web_link_enabled=False)
    with at(10):
        response = send(open_window, media=media.pk)
    assert (response.status_code, response.json()["code"]) == (400, "invalid")
