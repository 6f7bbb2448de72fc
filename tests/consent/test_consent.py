import pytest
from django.utils import timezone

from chats.compliance.append_only import AppendOnlyError
from chats.models import Account, Message
from consent.models import ConsentEvent, ConsentRecord
from consent.selectors import consent_status
from consent.services import consent_apply_keyword, consent_capture, keyword_intent
from tests.factories import AccountFactory, ConsentMethodFactory, ConsentTypeFactory, PhoneNumberFactory, ThreadFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def keywords():
    ConsentTypeFactory(language="en", subscribe_keywords="START", unsubscribe_keywords="STOP")
    ConsentTypeFactory(language="fr", subscribe_keywords="OUI", unsubscribe_keywords="ARRET, ARRÊT")


def inbound(account, text):
    return Message.objects.create(
        account=account, direction=Message.Direction.INBOUND, kind=Message.Kind.TEXT, body=text,
        status=Message.Status.RECEIVED, wamid=f"wamid.in.{Message.objects.count()}", wa_timestamp=timezone.now(),
    )


@pytest.mark.parametrize("text", ["stop", " Stop ", "STOP", "ｓｔｏｐ", "\tstop\n"])
def test_unsubscribe_keyword_matches_trimmed_casefolded_nfkc(keywords, text):
    assert keyword_intent(text)[0] == "opted_out"


@pytest.mark.parametrize("text", ["please stop", "stop!", "", "   ", "starting"])
def test_only_a_whole_keyword_counts(keywords, text):
    assert keyword_intent(text) is None


def test_capture_opts_in_and_logs_an_event(keywords):
    # given an HCP whose consent was never captured, and a rep
    account = AccountFactory(consent=False)
    rep = UserFactory()
    assert consent_status(account=Account.objects.get(pk=account.pk)) == "not_captured"
    # when the rep captures consent
    record, changed = consent_capture(account=account, actor=rep, method=ConsentMethodFactory())
    # then the HCP is opted in, by the rep, and one event says so
    assert changed and record.status == "opted_in" and record.captured_by == rep
    event = ConsentEvent.objects.get(account=account)
    assert (event.previous_status, event.status, event.via, event.actor) == ("not_captured", "opted_in", "rep", rep)


def test_inbound_stop_opts_out_and_fails_queued_messages(keywords):
    # given an opted-in HCP with one message queued and one already handed to Meta
    thread = ThreadFactory()
    account = thread.account
    queued = Message.objects.create(thread=thread, account=account, phone_number=thread.phone_number,
                                    direction="outbound", body="hello", status="queued")
    handed = Message.objects.create(thread=thread, account=account, phone_number=thread.phone_number,
                                    direction="outbound", body="hi", status="queued", wamid="wamid.out.1")
    # when the HCP writes " Stop "
    status = consent_apply_keyword(message=inbound(account, " Stop "))
    # then the HCP is opted out, the event names the keyword, and only the unsent message failed
    assert status == "opted_out"
    assert ConsentRecord.objects.get(account=account).status == "opted_out"
    event = ConsentEvent.objects.get(account=account, via="keyword")
    assert event.details == {"keyword": "Stop"} and event.message.body == " Stop "
    queued.refresh_from_db()
    handed.refresh_from_db()
    assert (queued.status, queued.failure_code) == ("failed", "opted_out")
    assert handed.status == "queued"


def test_french_keyword_opts_back_in(keywords):
    account = AccountFactory(consent="opted_out", language="fr")
    assert consent_apply_keyword(message=inbound(account, "oui")) == "opted_in"
    assert consent_status(account=Account.objects.get(pk=account.pk)) == "opted_in"


def test_ordinary_message_changes_nothing(keywords):
    account = AccountFactory()
    assert consent_apply_keyword(message=inbound(account, "Thanks, see you Tuesday")) is None
    assert not ConsentEvent.objects.exists()


def test_consent_events_cannot_be_changed_or_deleted(keywords):
    account = AccountFactory(consent=False)
    consent_capture(account=account, actor=UserFactory(), method=ConsentMethodFactory())
    event = ConsentEvent.objects.get()
    event.status = "opted_out"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        ConsentEvent.objects.filter(pk=event.pk).update(status="opted_out")
    with pytest.raises(AppendOnlyError):
        ConsentEvent.objects.all().delete()
    assert ConsentEvent.objects.get().status == "opted_in"


def test_consent_changed_is_published_to_reps_with_a_thread(keywords, django_capture_on_commit_callbacks, published):
    thread = ThreadFactory(account=AccountFactory(consent=False))
    with django_capture_on_commit_callbacks(execute=True):
        consent_capture(account=thread.account, actor=thread.user, method=ConsentMethodFactory())
    published.assert_called_once_with(
        thread.user_id, "consent.changed", {"account": thread.account_id, "consent": "opted_in", "thread": thread.pk}
    )
