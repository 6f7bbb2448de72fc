"""The demo data (docs/demo.md), loaded by `manage.py seed_demo`.

Idempotent: every row is found by its natural key and only written when it is
missing or differs from what is below, so a second run writes nothing (no
`updated_at` moves, no duplicate rows). Everything goes through `full_clean()`
so the demo data obeys the same rules as the admin.

Two deliberate exceptions to "reset to the demo values", both so a demo in
progress is not rewritten behind the user's back:
- consent records are only created when an account has none (consent is
  compliance data with an append-only history; the seed never fabricates a
  change of an HCP's consent);
- the WABA's app secret and access token start empty (the environment's
  apply) but are not wiped if an admin has since set them.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import models, transaction
from django.utils import timezone

from chats.models import (
    Account,
    PhoneAssignment,
    PhoneNumber,
    RestrictedPhrase,
    RestrictedPhraseRule,
    SafetyTerm,
    UserProfile,
    WhatsAppBusinessAccount,
)
from consent.models import ConsentChannel, ConsentEvent, ConsentMethod, ConsentRecord, ConsentStatus, ConsentType
from consent.selectors import consent_type_for
from consent.services import consent_wording_current
from media_links.models import MediaItem
from templates_app.models import MessageTemplate

DEMO_PASSWORD = "rapport-demo"
WABA_ID = "200000000000001"
MAX_GENERATED_ACCOUNTS = 900  # the +44 7700 900100..900999 drama range

# username, first, last, superuser, Engage license, phone_number_id of their number
USERS = [
    ("admin", "Ada", "Admin", True, False, None),
    ("rep.alex", "Alex", "Morgan", False, True, "100000000000001"),
    ("rep.blair", "Blair", "Chen", False, True, "100000000000001"),
    ("rep.casey", "Casey", "Patel", False, True, "100000000000002"),
    ("rep.drew", "Drew", "Okafor", False, False, "100000000000003"),
]
REPS = [u[0] for u in USERS if not u[3]]

# phone_number_id, display number
NUMBERS = [
    ("100000000000001", "+1 555 010 0001"),
    ("100000000000002", "+1 555 010 0002"),
    ("100000000000003", "+1 555 010 0003"),
]

# name, specialty, number, language, consent (None = not captured)
NAMED_ACCOUNTS = [
    ("Dr. Ada Lovelace", "Cardiology", "+447700900001", "en", ConsentStatus.OPTED_IN),
    ("Dr. Grace Hopper", "Endocrinology", "+12025550101", "en", ConsentStatus.OPTED_IN),
    ("Dr. Marie Curie", "Oncology", "+33612345678", "fr", ConsentStatus.OPTED_IN),
    ("Dr. Alan Turing", "General Practice", "+447700900002", "en", None),
    ("Dr. Rosalind Franklin", "Pulmonology", "+447700900003", "en", ConsentStatus.OPTED_OUT),
]

FIRST_NAMES = [
    "Amara", "Bruno", "Chloé", "Daniel", "Elena", "Farid", "Greta", "Hiro", "Isla", "Jonas",
    "Kavya", "Liam", "Maya", "Noah", "Olga", "Pablo", "Quinn", "Rania", "Samuel", "Tara",
]
LAST_NAMES = [
    "Abbott", "Bernard", "Castillo", "Dubois", "Eriksen", "Fischer", "Garnier", "Haddad", "Ibrahim",
    "Jensen", "Kowalski", "Laurent", "Moreau", "Nakamura", "Okoye", "Petit", "Quiroga", "Rossi",
    "Schmidt", "Tanaka", "Usman", "Vidal", "Walsh", "Xu", "Young",
]  # 25 names: coprime with 21, so the first 500 generated names are distinct
SPECIALTIES = ["Cardiology", "Endocrinology", "General Practice", "Nephrology", "Neurology", "Oncology"]

T = MessageTemplate
# name, language, kind, usage, meta category, meta status, display order, body, bindings
HELLO = {"1": "account.name", "2": "rep.full_name"}
TEMPLATES = [
    ("intro_meeting_request", "en", T.Kind.META, T.Usage.START_CONVERSATION, "MARKETING", "APPROVED", 1,
     "Hello {{1}}, this is {{2}} from Rapport Pharma. Would you have 15 minutes in the coming weeks for a "
     "short meeting about our latest cardiovascular data? Reply to this message and I will suggest a time.", HELLO),
    ("intro_meeting_request", "fr", T.Kind.META, T.Usage.START_CONVERSATION, "MARKETING", "APPROVED", 1,
     "Bonjour {{1}}, ici {{2}} de Rapport Pharma. Auriez-vous 15 minutes dans les prochaines semaines pour un "
     "court rendez-vous sur nos dernières données cardiovasculaires ? Répondez à ce message et je vous "
     "proposerai un créneau.", HELLO),
    ("follow_up_visit", "en", T.Kind.META, T.Usage.START_CONVERSATION, "MARKETING", "APPROVED", 2,
     "Hello {{1}}, thank you again for your time during my last visit. I would be glad to follow up on the "
     "questions you raised. Reply here whenever it suits you. {{2}}", HELLO),
    ("new_study_results", "en", T.Kind.META, T.Usage.START_CONVERSATION, "MARKETING", "APPROVED", 3,
     "Hello {{1}}, results of a new Cholecap study have just been published. Would you like me to send you "
     "the summary and the full publication? Reply to this message. {{2}}", HELLO),
    ("event_invitation", "en", T.Kind.META, T.Usage.GENERAL, "MARKETING", "APPROVED", 10,
     "Hello {{1}}, you are invited to our cardiology evening symposium with a panel of lipid specialists. "
     "Reply to this message for the date, venue and registration details. {{2}}, Rapport Pharma", HELLO),
    ("conversation_closed", "en", T.Kind.META, T.Usage.END_CONVERSATION, "UTILITY", "APPROVED", 100,
     "Thank you, {{1}}. This conversation is now closed. Send a message here at any time if you would like "
     "to talk again.", {"1": "account.name"}),
    ("consent_confirmation", "en", T.Kind.META, T.Usage.CONSENT_CONFIRMATION, "UTILITY", "APPROVED", 100,
     "Thank you, {{1}}. You have agreed to receive WhatsApp messages from Rapport Pharma. Reply {{2}} at any "
     "time to stop them, and {{3}} to subscribe again.",
     {"1": "account.name", "2": "consent.unsubscribe_keyword", "3": "consent.subscribe_keyword"}),
    ("consent_confirmation", "fr", T.Kind.META, T.Usage.CONSENT_CONFIRMATION, "UTILITY", "APPROVED", 100,
     "Merci, {{1}}. Vous avez accepté de recevoir des messages WhatsApp de Rapport Pharma. Répondez {{2}} à "
     "tout moment pour ne plus en recevoir, et {{3}} pour vous réabonner.",
     {"1": "account.name", "2": "consent.unsubscribe_keyword", "3": "consent.subscribe_keyword"}),
    ("launch_teaser", "en", T.Kind.META, T.Usage.GENERAL, "MARKETING", "PENDING", 100,
     "Hello {{1}}, something new is coming to cardiology this autumn. {{2}} will be in touch with the "
     "details soon.", HELLO),
    ("thanks_for_time", "en", T.Kind.TEXT_ONLY, T.Usage.GENERAL, "", "", 100,
     "Thank you for your time today, {{1}}. It was a pleasure to speak with you.", {"1": "account.name"}),
    ("samples_follow_up", "en", T.Kind.TEXT_ONLY, T.Usage.GENERAL, "", "", 100,
     "Hello {{1}}, the samples you asked for have been ordered and should reach you within five working "
     "days. Let me know if you need anything else. {{2}}", {"1": "account.name", "2": "rep.first_name"}),
]

CONSENT_TYPES = [
    ("en", "START", "STOP",
     "I agree to receive WhatsApp messages from my Rapport Pharma representative about our medicines and "
     "services. I can stop them at any time by replying STOP."),
    ("fr", "OUI", "ARRET",
     "J'accepte de recevoir des messages WhatsApp de mon représentant Rapport Pharma sur ses médicaments et "
     "services. Je peux les arrêter à tout moment en répondant ARRET."),
]

RESTRICTED_RULE = "Off-label claims"
RESTRICTED_PHRASES = [
    ("off-label", RestrictedPhrase.MatchType.CONTAINS),
    ("guaranteed", RestrictedPhrase.MatchType.EXACT),
    ("cure", RestrictedPhrase.MatchType.EXACT),
    (r"100\s*%\s*(safe|effective)", RestrictedPhrase.MatchType.REGEX),
]

# The drug-safety lexicon (docs/safety.md): kind, language, phrase, match type.
_TERM, _PRODUCT = SafetyTerm.Kind.TERM, SafetyTerm.Kind.PRODUCT
_CONTAINS, _EXACT, _REGEX = (SafetyTerm.MatchType.CONTAINS, SafetyTerm.MatchType.EXACT, SafetyTerm.MatchType.REGEX)
SAFETY_TERMS = [
    (_TERM, "en", "side effect", _CONTAINS), (_TERM, "en", "adverse", _CONTAINS), (_TERM, "en", "rash", _EXACT),
    (_TERM, "en", r"hospitali[sz](ed|ation)", _REGEX), (_TERM, "en", "allergic reaction", _CONTAINS),
    (_TERM, "en", "overdose", _CONTAINS), (_TERM, "en", "died", _EXACT),
    (_TERM, "fr", "effet indésirable", _CONTAINS), (_TERM, "fr", "effets indésirables", _CONTAINS),
    (_TERM, "fr", "effet secondaire", _CONTAINS), (_TERM, "fr", "hospitalisé", _CONTAINS),
    (_TERM, "fr", "éruption cutanée", _CONTAINS), (_TERM, "fr", "réaction allergique", _CONTAINS),
    (_PRODUCT, "en", "Cholecap", _EXACT),
]

# title, kind, url, web link enabled, description
MEDIA = [
    ("Cholecap Efficacy Deck", MediaItem.Kind.CLM_PRESENTATION, "https://clm.example.com/cholecap/efficacy-deck",
     True, "The approved efficacy presentation for Cholecap."),
    ("Cholecap HCP Portal", MediaItem.Kind.WEBSITE, "https://hcp.example.com/cholecap", True,
     "Prescribing information, dosing and patient resources for healthcare professionals."),
    ("Field Training Module", MediaItem.Kind.CLM_PRESENTATION, "https://clm.example.com/training/field-module",
     False, "Internal training for reps; not for sharing with HCPs."),
]


@dataclass
class SeedReport:
    """What one run did, per model: rows created, rows updated, rows already right."""

    created: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    unchanged: Counter = field(default_factory=Counter)

    def note(self, model: type[models.Model], outcome: str) -> None:
        getattr(self, outcome)[model._meta.label] += 1

    @property
    def changed(self) -> bool:
        return bool(sum(self.created.values()) or sum(self.updated.values()))

    def lines(self, *, changes_only: bool = False) -> list[str]:
        labels = sorted(set(self.created) | set(self.updated) | set(self.unchanged))
        if changes_only:
            labels = [label for label in labels if self.created[label] or self.updated[label]]
        return [
            f"{label}: {self.created[label]} created, {self.updated[label]} updated, {self.unchanged[label]} unchanged"
            for label in labels
        ]


def generated_account_rows(count: int) -> list[tuple[str, str, str, str, str | None]]:
    """The generated HCPs: deterministic names and +44 7700 900100.. numbers, mostly opted in."""
    rows = []
    for i in range(count):
        first = FIRST_NAMES[i % len(FIRST_NAMES)]
        last = LAST_NAMES[(i // len(FIRST_NAMES) * (len(FIRST_NAMES) + 1) + i % len(FIRST_NAMES)) % len(LAST_NAMES)]
        consent = ConsentStatus.OPTED_OUT if i % 10 == 9 else (None if i % 3 == 2 else ConsentStatus.OPTED_IN)
        rows.append((
            f"Dr. {first} {last}",
            SPECIALTIES[i % len(SPECIALTIES)],
            f"+447700900{100 + i:03d}",
            "fr" if i % 4 == 3 else "en",
            consent,
        ))
    return rows


def _upsert(report: SeedReport, model, *, lookup: dict, values: dict, on_create: dict | None = None):
    """Find a row by its natural key; create it, or write only the fields that differ."""
    obj = model.objects.filter(**lookup).first()
    if obj is None:
        obj = model(**lookup, **values, **(on_create or {}))
        obj.full_clean()
        obj.save()
        report.note(model, "created")
        return obj
    changed = {name: value for name, value in values.items() if getattr(obj, name) != value}
    if not changed:
        report.note(model, "unchanged")
        return obj
    for name, value in changed.items():
        setattr(obj, name, value)
    obj.full_clean()
    obj.save()
    report.note(model, "updated")
    return obj


def _ensure(report: SeedReport, model, **lookup):
    """A row that is nothing but its key (an assignment, a phrase)."""
    obj, created = model.objects.get_or_create(**lookup)
    report.note(model, "created" if created else "unchanged")
    return obj


def _seed_users(report: SeedReport) -> dict:
    User = get_user_model()
    users = {}
    for username, first, last, superuser, licensed, _ in USERS:
        values = {
            "first_name": first, "last_name": last, "email": f"{username.replace('.', '_')}@example.com",
            "is_active": True, "is_staff": superuser, "is_superuser": superuser,
        }
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User(username=username, **values)
            user.set_password(DEMO_PASSWORD)
            user.full_clean()
            user.save()
            report.note(User, "created")
        else:
            changed = {k: v for k, v in values.items() if getattr(user, k) != v}
            # Hashing is slow and salts differ: only re-hash when the password no longer matches.
            if changed or not user.check_password(DEMO_PASSWORD):
                for k, v in changed.items():
                    setattr(user, k, v)
                if not user.check_password(DEMO_PASSWORD):
                    user.set_password(DEMO_PASSWORD)
                user.full_clean()
                user.save()
                report.note(User, "updated")
            else:
                report.note(User, "unchanged")
        _upsert(report, UserProfile, lookup={"user": user}, values={"has_engage_license": licensed})
        users[username] = user
    return users


def _seed_numbers(report: SeedReport, users: dict) -> WhatsAppBusinessAccount:
    waba = _upsert(
        report, WhatsAppBusinessAccount, lookup={"waba_id": WABA_ID},
        values={"name": "Rapport Pharma (demo)", "default_language": "en"},
        on_create={"app_secret": "", "access_token": ""},
    )
    numbers = {
        number_id: _upsert(
            report, PhoneNumber, lookup={"phone_number_id": number_id},
            values={"display_phone_number": display, "verified_name": "Rapport Pharma", "waba": waba},
        )
        for number_id, display in NUMBERS
    }
    for username, *_, number_id in USERS:
        if number_id:
            _ensure(report, PhoneAssignment, user=users[username], phone_number=numbers[number_id])
    return waba


def _seed_accounts(report: SeedReport, users: dict, generated: int) -> None:
    reps = [users[name] for name in REPS]
    now = timezone.now()
    for name, specialty, number, language, consent in NAMED_ACCOUNTS + generated_account_rows(generated):
        account = _upsert(
            report, Account, lookup={"whatsapp_number": number},
            values={"name": name, "specialty": specialty, "language": language},
        )
        present = set(account.team.values_list("pk", flat=True))
        account.team.add(*[rep for rep in reps if rep.pk not in present])
        if consent is None or ConsentRecord.objects.filter(account=account).exists():
            continue
        consent_type = consent_type_for(language=language)
        evidence = {"method": ConsentMethod.objects.get(code="crm_import"),
                    "wording": consent_wording_current(consent_type=consent_type)} if consent == "opted_in" else {}
        record = ConsentRecord(
            account=account, consent_type=consent_type, status=consent,
            captured_via=ConsentChannel.IMPORT, captured_at=now, **evidence,
        )
        record.full_clean()
        record.save()
        report.note(ConsentRecord, "created")
        ConsentEvent.objects.create(
            account=account, previous_status=ConsentStatus.NOT_CAPTURED, status=consent,
            via=ConsentChannel.IMPORT, details={"source": "seed_demo"}, **evidence,
        )
        report.note(ConsentEvent, "created")


def _seed_content(report: SeedReport, waba: WhatsAppBusinessAccount) -> None:
    for language, subscribe, unsubscribe, wording in CONSENT_TYPES:
        consent_type = _upsert(report, ConsentType, lookup={"language": language},
                               values={"subscribe_keywords": subscribe, "unsubscribe_keywords": unsubscribe,
                                       "wording": wording})
        consent_wording_current(consent_type=consent_type)
    for name, language, kind, usage, category, status, order, body, bindings in TEMPLATES:
        _upsert(
            report, MessageTemplate, lookup={"waba": waba, "name": name, "language": language},
            values={"kind": kind, "usage": usage, "meta_category": category, "meta_status": status,
                    "display_order": order, "body": body, "bindings": bindings},
        )
    rule = _upsert(report, RestrictedPhraseRule, lookup={"name": RESTRICTED_RULE},
                   values={"active_from": None, "active_to": None})
    for phrase, match_type in RESTRICTED_PHRASES:
        _ensure(report, RestrictedPhrase, rule=rule, phrase=phrase, match_type=match_type)
    for kind, language, phrase, match_type in SAFETY_TERMS:
        _upsert(report, SafetyTerm, lookup={"kind": kind, "language": language, "phrase": phrase,
                                            "match_type": match_type}, values={"is_active": True})
    for title, kind, url, enabled, description in MEDIA:
        _upsert(report, MediaItem, lookup={"title": title},
                values={"kind": kind, "url": url, "web_link_enabled": enabled, "description": description})


@transaction.atomic
def seed_demo(*, generated_accounts: int = 60) -> SeedReport:
    """Create or repair the demo data; return what was created and updated."""
    if not 0 <= generated_accounts <= MAX_GENERATED_ACCOUNTS:
        raise ValueError(f"generated_accounts must be between 0 and {MAX_GENERATED_ACCOUNTS}.")
    report = SeedReport()
    users = _seed_users(report)
    waba = _seed_numbers(report, users)
    _seed_content(report, waba)  # consent types first: consent records point at them
    _seed_accounts(report, users, generated_accounts)
    return report
