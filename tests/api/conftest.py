"""Fixtures for the API tests: reps, a shared number, HCPs, and clients that use token auth."""
import factory
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from chats.conversations.phrases import clear_matcher_cache
from chats.models import Conversation, Message, RestrictedPhrase, RestrictedPhraseRule
from tests.factories import AccountFactory, PhoneNumberFactory, ThreadFactory, UserFactory, WabaFactory, api_token


class ConversationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Conversation


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    thread = factory.SubFactory(ThreadFactory)
    phone_number = factory.LazyAttribute(lambda m: m.thread.phone_number if m.thread else None)
    account = factory.LazyAttribute(lambda m: m.thread.account if m.thread else None)
    direction = Message.Direction.OUTBOUND
    kind = Message.Kind.TEXT
    body = factory.Sequence(lambda n: f"Message {n}")
    status = Message.Status.SENT


def add_phrase(phrase: str, match_type: str = "contains", *, rule: str = "Off-label claims", **rule_fields):
    rule_obj, _ = RestrictedPhraseRule.objects.get_or_create(name=rule, defaults=rule_fields)
    return RestrictedPhrase.objects.create(rule=rule_obj, phrase=phrase, match_type=match_type)


def api_client(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(user)}")
    return client


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Factories hash a password per user; the default hasher would dominate the suite's time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_matcher():
    # The compiled matcher is cached per process; each test starts from its own tables.
    clear_matcher_cache()
    yield
    clear_matcher_cache()


@pytest.fixture
def waba(db):
    return WabaFactory(name="Rapport Pharma", default_language="en")


@pytest.fixture
def alex(db):
    return UserFactory(username="rep.alex", first_name="Alex", last_name="Morgan")


@pytest.fixture
def blair(db):
    return UserFactory(username="rep.blair", first_name="Blair", last_name="Stone")


@pytest.fixture
def casey(db):
    return UserFactory(username="rep.casey", first_name="Casey", last_name="Reed")


@pytest.fixture
def drew(db):
    """A rep without the Engage license."""
    return UserFactory(username="rep.drew", licensed=False)


@pytest.fixture
def shared_number(waba, alex, blair, casey):
    return PhoneNumberFactory(waba=waba, phone_number_id="100000000000001", display_phone_number="+1 555 010 0001",
                              reps=[alex, blair, casey])


@pytest.fixture
def ada(alex, blair, casey):
    return AccountFactory(name="Dr. Ada Lovelace", whatsapp_number="+447700900001", team=[alex, blair, casey])


@pytest.fixture
def now():
    return timezone.now()
