"""Consent: capture by a rep (with its evidence), and the HCP's own keywords and WhatsApp settings.

Every change writes a ConsentEvent (append-only) and tells the reps who have a
thread with the HCP, after commit.
"""
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from chats.delivery.transitions import messages_fail_queued
from chats.errors import ConsentRefused
from chats.models import Account, Message, Thread
from chats.models.phones import normalize_e164
from chats.process_cache import ProcessCache
from chats.realtime.events import publish_all_on_commit
from chats.realtime.payloads import consent_changed_payload
from consent.models import (
    ConsentChannel, ConsentEvent, ConsentMethod, ConsentRecord, ConsentStatus, ConsentType, ConsentWording, keyword_key,
)
from consent.selectors import consent_type_for


def consent_wording_current(*, consent_type: ConsentType | None) -> ConsentWording | None:
    """The version of `consent_type`'s wording as it reads now: the latest kept version when its text
    is today's, else a new version (n + 1). Two captures racing after an edit make one version: the
    loser of the unique (type, version) insert reads the winner's. None without a type or wording."""
    if consent_type is None or not consent_type.wording.strip():
        return None
    latest = ConsentWording.objects.filter(consent_type=consent_type).order_by("-version").first()
    if latest is not None and latest.text == consent_type.wording:
        return latest
    try:
        with transaction.atomic():
            return ConsentWording.objects.create(consent_type=consent_type, text=consent_type.wording,
                                                 version=(latest.version + 1) if latest else 1)
    except IntegrityError:
        return ConsentWording.objects.filter(consent_type=consent_type).order_by("-version").first()


# Opt-outs that only the HCP can undo, with their own subscribe keyword.
HCP_OWN_CHANNELS = (ConsentChannel.KEYWORD, ConsentChannel.PREFERENCE)


def _evidence(method: ConsentMethod | None, wording: ConsentWording | None) -> dict:
    """The capture's evidence as the trail's details say it (the rows also point at both)."""
    details = {}
    if method is not None:
        details["method"] = method.code
    if wording is not None:
        details["wording_version"] = wording.version
    return details


def _set_status(*, account: Account, status: str, via: str, actor=None, message: Message | None = None,
                consent_type: ConsentType | None = None, now=None, respect_hcp_opt_out: bool = False,
                said_at=None, method: ConsentMethod | None = None, wording: ConsentWording | None = None,
                details: dict | None = None, locked: tuple[ConsentRecord | None] | None = None
                ) -> tuple[ConsentRecord, bool | None]:
    """Set the account's consent; returns (record, changed), changed None when not applied. Locks the
    record row.

    `respect_hcp_opt_out`: refuse (ConsentRefused `opted_out_by_hcp`) when the HCP's latest
    change, read under the lock, is their own opt-out. `said_at`: WhatsApp's timestamp of the
    HCP's own keyword; one older than the keyword that last decided (Meta delivers out of
    order) is kept in the trail, marked superseded, and changes nothing (changed None).
    """
    now = now or timezone.now()
    # `locked`: the caller read (and locked) the record already, as `(record,)`.
    record = locked[0] if locked is not None else ConsentRecord.objects.select_for_update().filter(account=account).first()
    if (respect_hcp_opt_out and record is not None and record.status == ConsentStatus.OPTED_OUT
            and record.captured_via in HCP_OWN_CHANNELS):
        raise ConsentRefused(
            "opted_out_by_hcp",
            _("The HCP opted out themselves; only their own subscribe keyword (e.g. START) opts them in again."),
        )
    previous = record.status if record else ConsentStatus.NOT_CAPTURED
    details = {**({"keyword": message.body.strip()} if message is not None else {}), **(details or {}),
               **_evidence(method, wording)}
    if said_at is not None and record is not None and record.hcp_said_at and said_at < record.hcp_said_at:
        ConsentEvent.objects.create(
            account=account, previous_status=previous, status=previous, via=via, actor=actor, message=message,
            details={**details, "superseded": True, "said_at": said_at.isoformat(),
                     "newer_keyword_said_at": record.hcp_said_at.isoformat()},
        )
        return record, None
    if record is None:
        record = ConsentRecord(account=account)
    if said_at is not None:
        record.hcp_said_at = said_at
    record.status = status
    record.captured_via = via
    record.captured_by = actor
    record.captured_at = now
    record.consent_type = consent_type or record.consent_type
    record.method, record.wording = method, wording
    record.save()
    ConsentEvent.objects.create(
        account=account, previous_status=previous, status=status, via=via, actor=actor, message=message,
        method=method, wording=wording, details=details,
    )
    # Each rep with a thread hears it; the change feed keeps it once, even when no rep chats with the HCP.
    publish_all_on_commit(
        [(user_id, "consent.changed", consent_changed_payload(thread_id=thread_id, account_id=account.pk, consent=status))
         for user_id, thread_id in Thread.objects.filter(account=account).values_list("user_id", "id")]
        or [(None, "consent.changed", consent_changed_payload(thread_id=None, account_id=account.pk, consent=status))])
    return record, previous != status


@transaction.atomic
def consent_capture(*, account: Account, actor, method: ConsentMethod, via: str = ConsentChannel.REP
                    ) -> tuple[ConsentRecord, bool]:
    """Opt the HCP in on a rep's (or an API client's) word, with its evidence: how consent was
    obtained (`method`), the wording version the HCP agreed to (their language's consent type as it
    reads now), by whom and when. Returns (record, changed).

    Raises ConsentRefused (`opted_out_by_hcp`) when the HCP's latest consent change is their own
    opt-out: a rep's word never undoes it, only the HCP's subscribe keyword does. An HCP already
    opted in is left as is (changed False, no event).
    """
    record = ConsentRecord.objects.select_for_update().filter(account=account).first()
    if record is not None and record.status == ConsentStatus.OPTED_IN:
        return record, False  # already opted in (a retry, a second tap): nothing new to record
    consent_type = consent_type_for(language=account.language)
    return _set_status(account=account, status=ConsentStatus.OPTED_IN, via=via, actor=actor, consent_type=consent_type,
                       respect_hcp_opt_out=True, method=method,
                       wording=consent_wording_current(consent_type=consent_type), locked=(record,))


def _load_keywords() -> frozenset[str]:
    keys = set()
    for consent_type in ConsentType.objects.all():
        keys |= {keyword_key(k) for k in consent_type.unsubscribe_list + consent_type.subscribe_list}
    return frozenset(keys)


# Every keyword of every consent type, normalised, read at most every 10 s per process: most
# HCP messages are no keyword, and this spares each of them a query. Saving or deleting a
# consent type forgets the set at once in that process; others within the TTL.
_known_keywords = ProcessCache(_load_keywords, ttl=10.0)
forget_keywords = _known_keywords.forget
post_save.connect(_known_keywords.forget, sender=ConsentType, weak=False, dispatch_uid="consent-keywords-save")
post_delete.connect(_known_keywords.forget, sender=ConsentType, weak=False, dispatch_uid="consent-keywords-delete")


def keyword_intent(text: str) -> tuple[str, ConsentType] | None:
    """('opted_in'|'opted_out', type) when the whole text is a consent keyword in any language."""
    key = keyword_key(text)
    if not key or key not in _known_keywords.get():
        return None
    for consent_type in ConsentType.objects.all():
        if key in {keyword_key(k) for k in consent_type.unsubscribe_list}:
            return ConsentStatus.OPTED_OUT, consent_type
        if key in {keyword_key(k) for k in consent_type.subscribe_list}:
            return ConsentStatus.OPTED_IN, consent_type
    return None


def consent_apply_keyword(*, message: Message) -> str | None:
    """Opt the HCP in or out when an inbound message is only a keyword. Returns the new status, or None.

    An opt-out also fails every outbound message to the HCP that is still
    queued and not yet handed to Meta (reason `opted_out`). Keywords apply in WhatsApp's
    timestamp order: an older one arriving late is recorded as superseded and returns None.
    """
    if message.direction != Message.Direction.INBOUND or message.account_id is None or message.kind != Message.Kind.TEXT:
        return None
    intent = keyword_intent(message.body)
    if intent is None:
        return None
    status, consent_type = intent
    with transaction.atomic():
        _record, changed = _set_status(account=message.account, status=status, via=ConsentChannel.KEYWORD,
                                       message=message, consent_type=consent_type, said_at=message.wa_timestamp)
        if changed is None:  # an older keyword, arrived late: kept in the trail, superseded
            return None
        if status == ConsentStatus.OPTED_OUT:
            messages_fail_queued(account=message.account)
    return status


def _account_named(*, wa_id: str, user_id: str) -> Account | None:
    """The HCP a webhook names: by WhatsApp user id first, else by phone number."""
    if user_id and (account := Account.objects.filter(whatsapp_user_id=user_id).first()):
        return account
    try:
        return Account.objects.filter(whatsapp_number=normalize_e164(wa_id)).first() if wa_id else None
    except ValidationError:
        return None


# Meta's user_preferences values: `stop` is the HCP's own opt-out; `resume` re-allows marketing
# messages in WhatsApp but is no consent to a rep's messages, so it is kept in the trail only.
PREFERENCE_STOP, PREFERENCE_RESUME = "stop", "resume"


def consent_apply_preference(*, wa_id: str, value: str, said_at, category: str = "", detail: str = "",
                             user_id: str = "") -> str | None:
    """Apply an HCP's WhatsApp marketing preference (`user_preferences` webhook). Returns the new status, or None.
    The HCP is named by phone number (`wa_id`), by business-scoped user id (`user_id`), or both.

    `stop` opts the HCP out as their own STOP keyword would (only their subscribe keyword opts them
    in again; queued messages fail). `resume` is written to the trail and changes nothing. Like
    keywords, preferences apply in WhatsApp's timestamp order, and a body Meta delivers twice
    writes one event.
    """
    account = _account_named(wa_id=wa_id, user_id=user_id)
    if account is None or value not in (PREFERENCE_STOP, PREFERENCE_RESUME):
        return None
    said = said_at.isoformat() if said_at else ""
    details = {"preference": value, "category": category, "detail": detail, "said_at": said}
    with transaction.atomic():
        record = ConsentRecord.objects.select_for_update().filter(account=account).first()  # one at a time per HCP
        if ConsentEvent.objects.filter(account=account, via=ConsentChannel.PREFERENCE, details__preference=value,
                                       details__said_at=said).exists():
            return None  # the same body again
        if value == PREFERENCE_RESUME:
            current = record.status if record is not None else ConsentStatus.NOT_CAPTURED
            ConsentEvent.objects.create(account=account, previous_status=current, status=current,
                                        via=ConsentChannel.PREFERENCE, details=details)
            return None
        _record, changed = _set_status(account=account, status=ConsentStatus.OPTED_OUT, via=ConsentChannel.PREFERENCE,
                                       said_at=said_at, details=details, locked=(record,))
        if changed is None:
            return None
        messages_fail_queued(account=account)
    return ConsentStatus.OPTED_OUT


@transaction.atomic
def consent_set_by_admin(*, account: Account, status: str, actor, consent_type: ConsentType | None = None,
                         method: ConsentMethod | None = None) -> tuple[ConsentRecord, bool]:
    """An admin sets the HCP's consent by hand (Django admin). Returns (record, changed).

    A change of status is a consent change like any other: stamped as the
    admin's (via `admin`), one ConsentEvent, reps told; an opt-out fails what is
    still queued, as the HCP's own STOP would. Only the consent type changing
    is not a consent change and leaves no event.
    """
    if status not in (ConsentStatus.OPTED_IN, ConsentStatus.OPTED_OUT):
        raise ValueError(f"An admin sets opted_in or opted_out, not {status!r}.")
    record = ConsentRecord.objects.select_for_update().filter(account=account).first()
    if record is not None and record.status == status:
        if consent_type is not None and record.consent_type_id != consent_type.pk:
            record.consent_type = consent_type
            record.save(update_fields=["consent_type"])
        return record, False
    wording = consent_wording_current(consent_type=consent_type or consent_type_for(language=account.language)) \
        if status == ConsentStatus.OPTED_IN else None
    record, changed = _set_status(account=account, status=status, via=ConsentChannel.ADMIN, actor=actor,
                                  consent_type=consent_type, method=method, wording=wording, locked=(record,))
    if status == ConsentStatus.OPTED_OUT:
        messages_fail_queued(account=account)
    return record, changed


@transaction.atomic
def consent_import(*, account: Account, status: str, actor, captured_at, source: str,
                   method: ConsentMethod | None = None, wording: str = "", via: str = ConsentChannel.API) -> str:
    """Record consent captured outside Rapport (a CRM, a signed form) with its evidence: when it was
    captured, where (`source`), how (`method`) and the wording agreed to. Returns what happened:
    `changed`, `unchanged` (already so: a repeated import writes nothing), or `superseded` (Rapport's
    record was decided after `captured_at`: kept in the trail, changes nothing).

    Like a rep's capture, an opt-in never undoes the HCP's own opt-out (ConsentRefused
    `opted_out_by_hcp`), and an HCP's STOP after the import opts them out as always. An imported
    opt-out fails what is still queued to the HCP.
    """
    if status not in (ConsentStatus.OPTED_IN, ConsentStatus.OPTED_OUT):
        raise ValueError(f"Consent is imported as opted_in or opted_out, not {status!r}.")
    record = ConsentRecord.objects.select_for_update().filter(account=account).first()
    if record is not None and record.status == status:
        return "unchanged"
    if (status == ConsentStatus.OPTED_IN and record is not None and record.status == ConsentStatus.OPTED_OUT
            and record.captured_via in HCP_OWN_CHANNELS):
        raise ConsentRefused("opted_out_by_hcp", _("The HCP opted out themselves; only their own subscribe keyword "
                                                 "(e.g. START) opts them in again."))
    evidence = {"source": source, "captured_at": captured_at.isoformat(), "wording": wording}
    if record is not None and record.captured_at > captured_at:
        current = record.status
        if not ConsentEvent.objects.filter(account=account, via=via, status=current, details__superseded=True,
                                           details__source=source, details__captured_at=evidence["captured_at"]).exists():
            ConsentEvent.objects.create(
                account=account, previous_status=current, status=current, via=via, actor=actor, method=method,
                details={**evidence, **_evidence(method, None), "imported_status": status, "superseded": True,
                         "decided_at": record.captured_at.isoformat()})
        return "superseded"
    consent_type = consent_type_for(language=account.language)
    kept = ConsentWording.objects.filter(consent_type=consent_type, text=wording).order_by("-version").first() \
        if consent_type is not None and wording else None
    _set_status(account=account, status=status, via=via, actor=actor, consent_type=consent_type, now=captured_at,
                method=method, wording=kept, details=evidence, locked=(record,))
    if status == ConsentStatus.OPTED_OUT:
        messages_fail_queued(account=account)
    return "changed"
