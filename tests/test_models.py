"""Invariants the database itself carries."""
import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from chats.models import Account, Conversation, Message, PhoneAssignment, Thread
from consent.models import ConsentRecord
from templates_app.models import MessageTemplate
from tests.factories import AccountFactory, PhoneNumberFactory, TemplateFactory, ThreadFactory, UserFactory

pytestmark = pytest.mark.django_db


def violates(create):
    with pytest.raises(IntegrityError), transaction.atomic():
        create()


def test_wamid_is_unique():
    Message.objects.create(direction="inbound", body="a", wamid="wamid.X")
    violates(lambda: Message.objects.create(direction="inbound", body="b", wamid="wamid.X"))
    # many messages may still have no wamid yet (queued)
    Message.objects.create(direction="outbound", body="c")
    Message.objects.create(direction="outbound", body="d")
    assert Message.objects.filter(wamid__isnull=True).count() == 2


def test_one_thread_per_user_account_number():
    thread = ThreadFactory()
    violates(lambda: Thread.objects.create(user=thread.user, account=thread.account, phone_number=thread.phone_number))


def test_one_consent_record_per_account():
    account = AccountFactory()  # opted in by the factory
    violates(lambda: ConsentRecord.objects.create(account=account, status="opted_out", captured_via="admin",
                                                  captured_at=timezone.now()))


def test_consent_record_status_is_opted_in_or_out():
    account = AccountFactory(consent=False)
    violates(lambda: ConsentRecord.objects.create(account=account, status="not_captured", captured_via="admin",
                                                  captured_at=timezone.now()))


def test_one_conversation_per_number_and_account():
    number, account = PhoneNumberFactory(), AccountFactory()
    Conversation.objects.create(phone_number=number, account=account)
    violates(lambda: Conversation.objects.create(phone_number=number, account=account))


def test_one_template_per_waba_name_language():
    template = TemplateFactory(name="intro", language="en")
    violates(lambda: MessageTemplate.objects.create(waba=template.waba, name="intro", language="en", body="x",
                                                    meta_status="APPROVED"))
    TemplateFactory(waba=template.waba, name="intro", language="fr")  # another language is fine


def test_client_id_is_unique_per_thread():
    import uuid

    thread, other = ThreadFactory(), ThreadFactory()
    key = uuid.uuid4()
    Message.objects.create(thread=thread, direction="outbound", body="a", client_id=key)
    Message.objects.create(thread=other, direction="outbound", body="a", client_id=key)
    violates(lambda: Message.objects.create(thread=thread, direction="outbound", body="b", client_id=key))


def test_one_assignment_per_user_and_number():
    rep = UserFactory()
    number = PhoneNumberFactory(reps=[rep])
    violates(lambda: PhoneAssignment.objects.create(user=rep, phone_number=number))


def test_account_number_is_normalised_and_validated_by_clean():
    account = Account(name="Dr. X", whatsapp_number="+44 7700 900123", language="en")
    account.full_clean()
    assert account.whatsapp_number == "+447700900123"
    with pytest.raises(ValidationError) as error:
        Account(name="Dr. Y", whatsapp_number="12", language="en").full_clean()
    assert "whatsapp_number" in error.value.message_dict


def test_account_language_must_be_a_whatsapp_code():
    with pytest.raises(ValidationError) as error:
        Account(name="Dr. Z", whatsapp_number="+447700900124", language="english").full_clean()
    assert "language" in error.value.message_dict


def test_template_placeholders_need_bindings():
    template = TemplateFactory.build(body="Hi {{1}}, from {{2}}", bindings={"1": "account.name"})
    with pytest.raises(ValidationError) as error:
        template.full_clean(exclude=["waba"])
    assert "{{2}}" in str(error.value.message_dict["bindings"])


def test_demo_password_works_for_factory_users(client):
    user = UserFactory(username="someone")
    assert client.login(username="someone", password="rapport-demo")
    assert user.profile.has_engage_license
