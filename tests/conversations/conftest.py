"""The conversation rules world: three reps on one shared number, HCPs in English and French,
the demo's templates and keywords, a recording WhatsApp backend, and helpers that go
through the API (sends) and through the signed webhook (HCP messages).

People and the number come from tests/api/conftest.py; webhook bodies and signing from
tests/whatsapp/conftest.py, so every suite speaks the same Meta shapes.
"""
import uuid
from datetime import datetime, timezone as dt_timezone

import pytest
from django.test import TestCase

from chats.models import Thread
from chats.whatsapp.backends import SendResult
from templates_app.models import MessageTemplate
from tests.api.conftest import (  # noqa: F401  (fixtures re-exported for this package)
    _fresh_matcher, ada, alex, api_client, blair, casey, drew, shared_number, waba,
)
from tests.factories import AccountFactory, ConsentTypeFactory, TemplateFactory, ThreadFactory
from tests.whatsapp.conftest import fake_graph, post_webhook, text_body  # noqa: F401

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=dt_timezone.utc)


class RecordingBackend:
    """WHATSAPP_BACKEND for these tests: accepts every send and remembers its Cloud API body."""

    name = "recording"
    sent: list[dict] = []
    marked_read: list[tuple[str, bool]] = []

    def send(self, *, phone_number_id: str, access_token: str, payload: dict) -> SendResult:
        RecordingBackend.sent.append(payload)
        wamid = f"wamid.REC.{len(RecordingBackend.sent)}.{uuid.uuid4().hex[:8]}"
        return SendResult(wamid=wamid, phone_number_id=phone_number_id, to=payload.get("to", ""), raw={})

    def message_stored(self, *, result: SendResult) -> None:
        pass

    def message_templates(self, *, waba_id: str, access_token: str):
        return None

    def mark_read(self, *, phone_number_id: str, access_token: str, wamid: str, typing_indicator: bool = False):
        RecordingBackend.marked_read.append((wamid, typing_indicator))


@pytest.fixture(autouse=True)
def backend(settings):
    settings.WHATSAPP_BACKEND = "tests.conversations.conftest.RecordingBackend"
    settings.PUBLIC_BASE_URL = "https://rapport.example.com"
    RecordingBackend.sent = []
    RecordingBackend.marked_read = []
    return RecordingBackend


@pytest.fixture
def keywords(db):
    return {
        "en": ConsentTypeFactory(language="en", subscribe_keywords="START", unsubscribe_keywords="STOP"),
        "fr": ConsentTypeFactory(language="fr", subscribe_keywords="OUI", unsubscribe_keywords="ARRET"),
    }


@pytest.fixture
def templates(waba, keywords):
    """The demo's templates on the WABA, by name."""
    def make(name, **fields):
        return TemplateFactory(waba=waba, name=name, **fields)

    consent_bindings = {"1": "consent.subscribe_keyword", "2": "consent.unsubscribe_keyword"}
    return {
        "intro": make("intro_meeting_request", usage="start_conversation", display_order=1,
                      body="Hello {{1}}, this is {{2}}. May I share the latest study?"),
        "intro_fr": make("intro_meeting_request", language="fr", usage="start_conversation", display_order=1,
                         body="Bonjour {{1}}, ici {{2}}."),
        "pending": make("launch_teaser", meta_status=MessageTemplate.MetaStatus.PENDING, body="Soon!", bindings={}),
        "paused": make("paused_one", meta_status=MessageTemplate.MetaStatus.PAUSED, body="Paused", bindings={}),
        "thanks": make("thanks_for_time", kind=MessageTemplate.Kind.TEXT_ONLY, meta_status="",
                       body="Thank you for your time, {{1}}.", bindings={"1": "account.name"}),
        "closing": make("conversation_closed", usage="end_conversation", body="Thank you, {{1}}. Goodbye.",
                        bindings={"1": "account.name"}),
        "consent_en": make("consent_confirmation", usage="consent_confirmation", bindings=consent_bindings,
                           body="You are subscribed. Reply {{1}} to subscribe again or {{2}} to stop."),
        "consent_fr": make("consent_confirmation", language="fr", usage="consent_confirmation",
                           bindings=consent_bindings, body="Vous êtes inscrit. Répondez {{1}} ou {{2}} pour arrêter."),
    }


@pytest.fixture
def marie(alex, blair, casey):
    return AccountFactory(name="Dr. Marie Curie", whatsapp_number="+33612345678", language="fr",
                          team=[alex, blair, casey])


@pytest.fixture
def threads(alex, blair, casey, ada, shared_number):
    """Each rep's thread with Ada on the shared number."""
    return {u.username: ThreadFactory(user=u, account=ada, phone_number=shared_number) for u in (alex, blair, casey)}


def on_commit():
    """Tests run in a transaction that never commits: run the after-commit work (send task, events) as queued."""
    return TestCase.captureOnCommitCallbacks(execute=True)


def send(thread: Thread, *, user=None, client_id=None, **body):
    """POST /threads/{id}/messages/ as the thread's rep; returns the response."""
    body.setdefault("kind", "template" if "template" in body else "media" if "media" in body else "text")
    if "template" in body and not isinstance(body["template"], int):
        body["template"] = body["template"].pk
    body["client_id"] = str(client_id or uuid.uuid4())
    with on_commit():
        return api_client(user or thread.user).post(f"/api/v1/threads/{thread.pk}/messages/", body, format="json")


def hcp_says(client, *, account, number, text="Hello", at: datetime, wamid=None, context_wamid=""):
    """The HCP's message, as Meta's signed webhook stamped with WhatsApp time `at`."""
    body = text_body(number=number, account=account, text=text, wamid=wamid or f"wamid.HCP.{uuid.uuid4().hex}",
                     ts=int(at.timestamp()), context_wamid=context_wamid)
    response = post_webhook(client, body)
    assert response.status_code == 200
    return response


def state_of(thread: Thread) -> dict:
    return api_client(thread.user).get(f"/api/v1/threads/{thread.pk}/").json()["state"]
