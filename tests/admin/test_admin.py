"""Django admin: every model's pages render, lists don't grow queries, secrets stay secret,
audit tables stay read-only, numbers show who shares them."""
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from chats.compliance.audit import audit
from chats.models import (
    Account,
    AuditEvent,
    Conversation,
    Message,
    PhoneAssignment,
    PhoneNumber,
    RestrictedPhrase,
    RestrictedPhraseRule,
    Thread,
    UserProfile,
    WebhookEvent,
    WhatsAppBusinessAccount,
)
from consent.models import ConsentEvent, ConsentRecord, ConsentType
from media_links.models import MediaItem, WebLink
from templates_app.models import MessageTemplate
from tests.factories import (
    AccountFactory,
    ConsentTypeFactory,
    MediaItemFactory,
    PhoneNumberFactory,
    TemplateFactory,
    ThreadFactory,
    UserFactory,
    WabaFactory,
)

pytestmark = pytest.mark.django_db

User = get_user_model()

APP_SECRET = "app-secret-5f2c9b7e1d"
ACCESS_TOKEN = "EAAG-access-token-8c1e4a"

ALL_MODELS = [
    User, UserProfile, Account, WhatsAppBusinessAccount, PhoneNumber, PhoneAssignment, Thread, Conversation,
    Message, WebhookEvent, AuditEvent, RestrictedPhraseRule, ConsentType, ConsentRecord, ConsentEvent,
    MessageTemplate, MediaItem, WebLink,
]
READ_ONLY_MODELS = [ConsentEvent, AuditEvent, Message, WebhookEvent]


def admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def add_rows(n: int, *, suffix: str = "") -> None:
    """n rows of every model, each row with its own related rows (the shape that exposes N+1)."""
    for i in range(n):
        tag = f"{suffix}{i}"
        alex, blair = UserFactory(), UserFactory()
        number = PhoneNumberFactory(reps=[alex, blair] if i % 2 else [alex])
        account = AccountFactory(team=[alex, blair])
        thread = ThreadFactory(user=alex, account=account, phone_number=number)
        Conversation.objects.create(
            phone_number=number, account=account, owner=alex, last_template_by=blair,
            last_inbound_at=timezone.now(), window_expires_at=timezone.now() + timedelta(hours=24),
        )
        sent = Message.objects.create(
            thread=thread, account=account, phone_number=number, sender=alex, direction="outbound",
            body=f"Hello {tag}", status="read", wamid=f"wamid.out.{uuid.uuid4().hex}", sent_at=timezone.now(),
        )
        Message.objects.create(
            account=account, phone_number=number, direction="inbound", body=f"Who is this {tag}?",
            status="received", wamid=f"wamid.in.{uuid.uuid4().hex}", unrouted_reason="no_template_sender",
        )
        WebhookEvent.objects.create(body=b'{"object": "whatsapp_business_account", "entry": []}')
        audit(kind=AuditEvent.Kind.MESSAGE_QUEUED, actor=alex, thread=thread, message=sent)
        rule = RestrictedPhraseRule.objects.create(name=f"Rule {tag}")
        RestrictedPhrase.objects.create(rule=rule, phrase=f"off-label {tag}", match_type="contains")
        ConsentEvent.objects.create(account=account, previous_status="not_captured", status="opted_in", via="rep",
                                    actor=alex)
        template = TemplateFactory(waba=number.waba)
        item = MediaItemFactory(share_template=template)
        WebLink.objects.create(media_item=item, thread=thread, message=sent,
                               expires_at=timezone.now() + timedelta(days=30))
    ConsentTypeFactory(language="en")
    ConsentTypeFactory(language="fr", subscribe_keywords="OUI", unsubscribe_keywords="ARRET")


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Factories hash a password per user; the default hasher would dominate the run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def rows():
    add_rows(2)


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.__name__)
def test_changelist_and_change_page_render(admin_client, rows, model):
    # given: rows of every model exist
    obj = model.objects.order_by("pk").last()
    # when / then: the list and an object's page answer 200
    assert admin_client.get(admin_url(model, "changelist")).status_code == 200
    assert admin_client.get(admin_url(model, "change", obj.pk)).status_code == 200
    # and so does a search
    response = admin_client.get(admin_url(model, "changelist") + "?q=a")
    assert response.status_code == 200


@pytest.mark.parametrize("model", [m for m in ALL_MODELS if m not in READ_ONLY_MODELS], ids=lambda m: m.__name__)
def test_add_page_renders(admin_client, rows, model):
    assert admin_client.get(admin_url(model, "add")).status_code == 200


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.__name__)
def test_changelist_query_count_does_not_grow_with_rows(admin_client, model, django_assert_max_num_queries):
    # given: a few rows, and the queries one page of the list costs
    add_rows(2, suffix="a")
    url = admin_url(model, "changelist")
    with CaptureQueriesContext(connection) as small:
        assert admin_client.get(url).status_code == 200
    # when: there are several times as many rows
    add_rows(6, suffix="b")
    # then: the page costs no more queries
    with django_assert_max_num_queries(len(small)):
        response = admin_client.get(url)
    assert response.status_code == 200
    assert response.context["cl"].result_count >= 6 or model is ConsentType


def test_changelist_query_count_with_django_assert(admin_client, django_assert_max_num_queries):
    # given: the busiest list (messages with account, sender and number) at two sizes
    add_rows(3)
    url = admin_url(Message, "changelist")
    with CaptureQueriesContext(connection) as baseline:
        admin_client.get(url)
    add_rows(10, suffix="x")
    # then: the larger page stays within the smaller page's budget
    with django_assert_max_num_queries(len(baseline)):
        admin_client.get(url)


# --- WABA secrets -------------------------------------------------------------------


@pytest.fixture
def waba():
    return WabaFactory(waba_id="200000000000009", name="Acme", app_secret=APP_SECRET, access_token=ACCESS_TOKEN)


def waba_post(waba, **overrides):
    data = {
        "waba_id": waba.waba_id, "name": waba.name, "default_language": waba.default_language,
        "app_secret": "", "access_token": "",
    }
    data.update(overrides)
    return data


def test_secrets_never_appear_in_the_waba_pages(admin_client, waba):
    change = admin_client.get(admin_url(WhatsAppBusinessAccount, "change", waba.pk)).content.decode()
    listing = admin_client.get(admin_url(WhatsAppBusinessAccount, "changelist")).content.decode()
    for html in (change, listing):
        assert APP_SECRET not in html
        assert ACCESS_TOKEN not in html
    assert change.count('<div class="readonly">set</div>') == 2
    assert 'type="password"' in change


def test_blank_secrets_on_edit_keep_the_stored_values(admin_client, waba):
    # when: the admin renames the WABA and leaves both secret fields blank
    response = admin_client.post(admin_url(WhatsAppBusinessAccount, "change", waba.pk), waba_post(waba, name="Acme EU"))
    # then: the secrets are unchanged
    assert response.status_code == 302
    waba.refresh_from_db()
    assert (waba.name, waba.app_secret, waba.access_token) == ("Acme EU", APP_SECRET, ACCESS_TOKEN)


def test_a_new_secret_replaces_and_the_clear_box_empties(admin_client, waba):
    response = admin_client.post(
        admin_url(WhatsAppBusinessAccount, "change", waba.pk),
        waba_post(waba, app_secret="new-secret-value", clear_access_token="on"),
    )
    assert response.status_code == 302
    waba.refresh_from_db()
    assert (waba.app_secret, waba.access_token) == ("new-secret-value", "")
    listing = admin_client.get(admin_url(WhatsAppBusinessAccount, "changelist")).content.decode()
    assert "new-secret-value" not in listing
    assert "not set" in listing


def test_new_secret_and_clear_together_is_an_error_that_does_not_echo(admin_client, waba):
    response = admin_client.post(
        admin_url(WhatsAppBusinessAccount, "change", waba.pk),
        waba_post(waba, app_secret="typed-secret-xyz", clear_app_secret="on"),
    )
    assert response.status_code == 200
    assert "not both" in response.content.decode()
    assert "typed-secret-xyz" not in response.content.decode()
    waba.refresh_from_db()
    assert waba.app_secret == APP_SECRET


# --- read-only audit tables ---------------------------------------------------------


@pytest.mark.parametrize("model", READ_ONLY_MODELS, ids=lambda m: m.__name__)
def test_audit_tables_refuse_add_change_and_delete(admin_client, rows, model):
    obj = model.objects.order_by("pk").first()
    count = model.objects.count()
    assert admin_client.get(admin_url(model, "add")).status_code == 403
    assert admin_client.post(admin_url(model, "add"), {}).status_code == 403
    assert admin_client.post(admin_url(model, "change", obj.pk), {}).status_code == 403
    assert admin_client.post(admin_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    listing = admin_client.get(admin_url(model, "changelist"))
    assert "delete_selected" not in listing.content.decode()
    page = admin_client.get(admin_url(model, "change", obj.pk)).content.decode()
    assert 'name="_save"' not in page
    assert model.objects.count() == count


def test_message_page_shows_status_timestamps_errors_and_unrouted_reason(admin_client, rows):
    failed = Message.objects.filter(direction="outbound").first()
    Message.objects.filter(pk=failed.pk).update(
        status="failed", error_code=131047, error_title="Re-engagement message", failure_reason="window_closed"
    )
    page = admin_client.get(admin_url(Message, "change", failed.pk)).content.decode()
    for label in ("Sent at", "Delivered at", "Read at", "Failed at", "Error code", "Error title", "Unrouted reason"):
        assert label in page
    assert "131047" in page and "Re-engagement message" in page


def test_unrouted_filter_lists_only_inbound_messages_without_thread(admin_client, rows):
    response = admin_client.get(admin_url(Message, "changelist") + "?unrouted=yes")
    shown = list(response.context["cl"].result_list)
    assert len(shown) == 2
    assert all(m.thread_id is None and m.direction == "inbound" for m in shown)


# --- numbers and assignments --------------------------------------------------------


def test_phone_number_list_shows_assignee_count_and_shared(admin_client):
    alex, blair = UserFactory(username="rep.alex"), UserFactory(username="rep.blair")
    shared = PhoneNumberFactory(reps=[alex, blair])
    own = PhoneNumberFactory(reps=[alex])
    response = admin_client.get(admin_url(PhoneNumber, "changelist"))
    by_pk = {n.pk: n for n in response.context["cl"].result_list}
    assert by_pk[shared.pk].assignee_count == 2 and by_pk[own.pk].assignee_count == 1
    model_admin = response.context["cl"].model_admin
    assert model_admin.is_shared(by_pk[shared.pk]) is True
    assert model_admin.is_shared(by_pk[own.pk]) is False
    assert "rep.alex, rep.blair" in response.content.decode()
    only_shared = admin_client.get(admin_url(PhoneNumber, "changelist") + "?shared=yes")
    assert [n.pk for n in only_shared.context["cl"].result_list] == [shared.pk]


def test_reps_are_assigned_inline_on_the_number(admin_client):
    # given: a number with one rep
    alex, casey = UserFactory(username="rep.alex"), UserFactory(username="rep.casey")
    number = PhoneNumberFactory(reps=[alex])
    assignment = number.assignments.get()
    # when: the admin adds Casey in the inline
    data = {
        "phone_number_id": number.phone_number_id, "display_phone_number": number.display_phone_number,
        "verified_name": number.verified_name, "waba": number.waba_id,
        "assignments-TOTAL_FORMS": "2", "assignments-INITIAL_FORMS": "1",
        "assignments-MIN_NUM_FORMS": "0", "assignments-MAX_NUM_FORMS": "1000",
        "assignments-0-id": assignment.pk, "assignments-0-phone_number": number.pk, "assignments-0-user": alex.pk,
        "assignments-1-id": "", "assignments-1-phone_number": number.pk, "assignments-1-user": casey.pk,
    }
    response = admin_client.post(admin_url(PhoneNumber, "change", number.pk), data)
    # then: both reps share the number
    assert response.status_code == 302, response.context["errors"] if response.context else response
    assert set(number.assignees.values_list("username", flat=True)) == {"rep.alex", "rep.casey"}


# --- accounts -----------------------------------------------------------------------


def test_account_form_normalises_the_number_to_e164(admin_client):
    rep = UserFactory()
    data = {"name": "Dr. Ada", "specialty": "Cardiology", "whatsapp_number": "+44 7700 900123", "language": "en",
            "team": [rep.pk]}
    response = admin_client.post(admin_url(Account, "add"), data)
    assert response.status_code == 302
    account = Account.objects.get(name="Dr. Ada")
    assert account.whatsapp_number == "+447700900123"
    assert list(account.team.all()) == [rep]


def test_account_form_rejects_a_bad_number_on_the_field(admin_client):
    data = {"name": "Dr. Bad", "whatsapp_number": "12", "language": "en"}
    response = admin_client.post(admin_url(Account, "add"), data)
    assert response.status_code == 200
    assert "whatsapp_number" in response.context["adminform"].form.errors
    assert not Account.objects.filter(name="Dr. Bad").exists()


def test_user_admin_shows_the_engage_license_inline(admin_client):
    rep = UserFactory(username="rep.drew", licensed=False)
    page = admin_client.get(admin_url(User, "change", rep.pk)).content.decode()
    assert "has_engage_license" in page
    listing = admin_client.get(admin_url(User, "changelist"))
    assert "Engage license" in listing.content.decode()


def test_admin_consent_change_leaves_an_event(admin_client, admin_user):
    account = AccountFactory(consent="opted_in")
    record = ConsentRecord.objects.get(account=account)
    response = admin_client.post(admin_url(ConsentRecord, "change", record.pk),
                                 {"account": account.pk, "status": "opted_out", "consent_type": ""})
    assert response.status_code == 302
    record.refresh_from_db()
    assert (record.status, record.captured_via, record.captured_by) == ("opted_out", "admin", admin_user)
    event = ConsentEvent.objects.get(account=account)
    assert (event.previous_status, event.status) == ("opted_in", "opted_out")
    assert (event.via, event.actor) == ("admin", admin_user)


def test_conversation_list_derives_the_window(admin_client):
    number, account = PhoneNumberFactory(), AccountFactory()
    now = timezone.now()
    Conversation.objects.create(phone_number=number, account=account, last_inbound_at=now - timedelta(hours=1),
                                window_expires_at=now + timedelta(hours=23))
    response = admin_client.get(admin_url(Conversation, "changelist") + "?window=open")
    shown = list(response.context["cl"].result_list)
    assert len(shown) == 1 and response.context["cl"].model_admin.window(shown[0]) == "open"
    assert admin_client.get(admin_url(Conversation, "changelist") + "?window=closed").context["cl"].result_count == 0
