"""seed_demo creates exactly the demo data of docs/demo.md, and a second run changes nothing."""
from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command

from chats.devtools.demo import seed_demo
from chats.models import Account, PhoneAssignment, PhoneNumber, RestrictedPhrase, RestrictedPhraseRule, WhatsAppBusinessAccount
from chats.models.phones import normalize_e164
from consent.models import ConsentEvent, ConsentRecord, ConsentType
from media_links.models import MediaItem
from templates_app.models import BINDING_FIELDS, MessageTemplate

pytestmark = pytest.mark.django_db


REPS = ["rep.alex", "rep.blair", "rep.casey", "rep.drew"]
NAMED = {
    "+447700900001": ("Dr. Ada Lovelace", "en", "opted_in"),
    "+12025550101": ("Dr. Grace Hopper", "en", "opted_in"),
    "+33612345678": ("Dr. Marie Curie", "fr", "opted_in"),
    "+447700900002": ("Dr. Alan Turing", "en", None),
    "+447700900003": ("Dr. Rosalind Franklin", "en", "opted_out"),
}
# name, language, kind, meta status, usage, display order (None: not part of the contract)
TEMPLATES = {
    ("intro_meeting_request", "en"): ("meta", "APPROVED", "start_conversation", 1),
    ("intro_meeting_request", "fr"): ("meta", "APPROVED", "start_conversation", 1),
    ("follow_up_visit", "en"): ("meta", "APPROVED", "start_conversation", 2),
    ("new_study_results", "en"): ("meta", "APPROVED", "start_conversation", 3),
    ("event_invitation", "en"): ("meta", "APPROVED", "general", None),
    ("conversation_closed", "en"): ("meta", "APPROVED", "end_conversation", None),
    ("consent_confirmation", "en"): ("meta", "APPROVED", "consent_confirmation", None),
    ("consent_confirmation", "fr"): ("meta", "APPROVED", "consent_confirmation", None),
    ("launch_teaser", "en"): ("meta", "PENDING", "general", None),
    ("thanks_for_time", "en"): ("text_only", "", "general", None),
    ("samples_follow_up", "en"): ("text_only", "", "general", None),
}
SEEDED_MODELS = [
    "auth.User", "chats.UserProfile", "chats.WhatsAppBusinessAccount", "chats.PhoneNumber", "chats.PhoneAssignment",
    "chats.Account", "consent.ConsentType", "consent.ConsentRecord", "consent.ConsentEvent",
    "templates_app.MessageTemplate", "chats.RestrictedPhraseRule", "chats.RestrictedPhrase", "media_links.MediaItem",
]


def counts() -> dict[str, int]:
    return {label: apps.get_model(label).objects.count() for label in SEEDED_MODELS} | {
        "account teams": Account.team.through.objects.count()
    }


def timestamps() -> dict:
    return {
        "accounts": dict(Account.objects.values_list("pk", "updated_at")),
        "templates": dict(MessageTemplate.objects.values_list("pk", "updated_at")),
        "rules": dict(RestrictedPhraseRule.objects.values_list("pk", "updated_at")),
        "passwords": dict(get_user_model().objects.values_list("pk", "password")),
    }


@pytest.fixture
def seeded():
    return seed_demo()


def test_second_run_creates_and_updates_nothing(seeded):
    # given: the demo data loaded once
    assert seeded.changed
    before_counts, before_times = counts(), timestamps()
    # when: it is loaded again
    report = seed_demo()
    # then: no row was created or written
    assert not report.changed
    assert sum(report.created.values()) == 0 and sum(report.updated.values()) == 0
    assert counts() == before_counts
    assert timestamps() == before_times


def test_second_run_repairs_a_changed_row_and_only_that(seeded):
    # given: an admin changed Ada's language and a template's body
    Account.objects.filter(whatsapp_number="+447700900001").update(language="fr")
    MessageTemplate.objects.filter(name="follow_up_visit").update(body="Hi {{1}}")
    # when
    report = seed_demo()
    # then: both are back to the demo values, nothing else was touched
    assert Account.objects.get(whatsapp_number="+447700900001").language == "en"
    assert "{{2}}" in MessageTemplate.objects.get(name="follow_up_visit").body
    assert dict(report.updated) == {"chats.Account": 1, "templates_app.MessageTemplate": 1}
    assert sum(report.created.values()) == 0


def test_users_licenses_and_passwords(seeded):
    User = get_user_model()
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    licenses = {u.username: u.profile.has_engage_license for u in User.objects.filter(username__in=REPS)}
    assert licenses == {"rep.alex": True, "rep.blair": True, "rep.casey": True, "rep.drew": False}
    for user in User.objects.filter(username__in=REPS + ["admin"]):
        assert user.check_password("rapport-demo"), user.username
        assert user.is_active
    assert not User.objects.filter(username__in=REPS, is_staff=True).exists()
    assert User.objects.count() == 5


def test_waba_numbers_and_assignments(seeded):
    waba = WhatsAppBusinessAccount.objects.get()
    assert waba.waba_id == "200000000000001"
    assert waba.app_secret == "" and waba.access_token == ""
    numbers = {n.phone_number_id: n for n in PhoneNumber.objects.all()}
    assert {k: n.display_phone_number for k, n in numbers.items()} == {
        "100000000000001": "+1 555 010 0001",
        "100000000000002": "+1 555 010 0002",
        "100000000000003": "+1 555 010 0003",
    }
    assert all(n.waba == waba for n in numbers.values())
    assignments = {
        (a.user.username, a.phone_number.phone_number_id) for a in PhoneAssignment.objects.select_related("user", "phone_number")
    }
    assert assignments == {
        ("rep.alex", "100000000000001"),
        ("rep.blair", "100000000000001"),
        ("rep.casey", "100000000000002"),
        ("rep.drew", "100000000000003"),
    }


def test_named_accounts_with_language_and_consent(seeded):
    for number, (name, language, consent) in NAMED.items():
        account = Account.objects.get(whatsapp_number=number)
        assert (account.name, account.language) == (name, language)
        record = ConsentRecord.objects.filter(account=account).first()
        assert (record.status if record else None) == consent, name
        if record:
            assert record.captured_via == "import"
            assert record.consent_type.language == language
            event = ConsentEvent.objects.get(account=account)
            assert (event.previous_status, event.status, event.via) == ("not_captured", consent, "import")
        else:
            assert not ConsentEvent.objects.filter(account=account).exists()
        assert sorted(account.team.values_list("username", flat=True)) == REPS


def test_generated_accounts_are_valid_distinct_visible_and_partly_opted_in(seeded):
    generated = Account.objects.exclude(whatsapp_number__in=NAMED)
    assert generated.count() == 60
    numbers = list(generated.values_list("whatsapp_number", flat=True))
    assert all(normalize_e164(n) == n for n in numbers)
    assert len(set(generated.values_list("name", flat=True))) == 60
    opted_in = ConsentRecord.objects.filter(account__in=generated, status="opted_in").count()
    assert 0 < opted_in < 60
    for rep in REPS:
        assert generated.filter(team__username=rep).count() == 60
    assert ConsentRecord.objects.count() == ConsentEvent.objects.count()


def test_generated_account_count_is_a_parameter():
    seed_demo(generated_accounts=50)
    assert Account.objects.count() == 55
    with pytest.raises(ValueError):
        seed_demo(generated_accounts=-1)


def test_templates(seeded):
    rows = {(t.name, t.language): t for t in MessageTemplate.objects.all()}
    assert set(rows) == set(TEMPLATES)
    for key, (kind, status, usage, order) in TEMPLATES.items():
        template = rows[key]
        assert (template.kind, template.meta_status, template.usage) == (kind, status, usage), key
        if order is not None:
            assert template.display_order == order, key
        if kind == "meta":
            assert template.meta_category in {"MARKETING", "UTILITY"}, key
        assert set(template.bindings) == set(template.placeholders), key
        assert set(template.bindings.values()) <= set(BINDING_FIELDS), key
        template.full_clean()
    for language in ("en", "fr"):
        confirmation = rows[("consent_confirmation", language)]
        assert {"consent.subscribe_keyword", "consent.unsubscribe_keyword"} <= set(confirmation.bindings.values())


def test_consent_keywords_phrases_and_media(seeded):
    keywords = {c.language: (c.subscribe_list, c.unsubscribe_list) for c in ConsentType.objects.all()}
    assert keywords == {"en": (["START"], ["STOP"]), "fr": (["OUI"], ["ARRET"])}
    rule = RestrictedPhraseRule.objects.get()
    assert rule.name == "Off-label claims" and rule.is_active()
    assert set(RestrictedPhrase.objects.values_list("phrase", "match_type")) == {
        ("off-label", "contains"), ("guaranteed", "exact"), ("cure", "exact"), (r"100\s*%\s*(safe|effective)", "regex"),
    }
    media = {m.title: (m.kind, m.web_link_enabled) for m in MediaItem.objects.all()}
    assert media == {
        "Cholecap Efficacy Deck": ("clm_presentation", True),
        "Cholecap HCP Portal": ("website", True),
        "Field Training Module": ("clm_presentation", False),
    }


def test_consent_is_never_rewritten(seeded):
    # given: Turing opted in during a demo
    turing = Account.objects.get(whatsapp_number="+447700900002")
    ConsentRecord.objects.create(account=turing, status="opted_in", captured_via="rep", captured_at=turing.created_at)
    # when: the seed runs again
    seed_demo()
    # then: his consent stands and no import event was invented
    assert ConsentRecord.objects.get(account=turing).status == "opted_in"
    assert not ConsentEvent.objects.filter(account=turing).exists()


def test_command_prints_summary_and_logins():
    out = StringIO()
    call_command("seed_demo", stdout=out)
    first = out.getvalue()
    assert "Demo data loaded." in first
    for username in ["admin"] + REPS:
        assert username in first
    assert "rapport-demo" in first
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert "nothing changed" in out.getvalue()
