"""Safety cases: opened when an HCP's message holds safety terms, seen and annotated by the rep, closed by
drug safety. The case row says where it stands; each step leaves a trail row (SafetyCaseEvent, append-only)
and a `safety_case.changed` event (the rep's bubble, and the change feed for a safety system).

Forwarding to the safety mailbox is chats/safety/forwarding.py.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from chats.errors import DomainError
from chats.models import Message, SafetyCase, SafetyCaseEvent, Thread
from chats.models.sql import bulk_insert
from chats.realtime.events import publish_on_commit
from chats.realtime.payloads import safety_case_payload
from chats.safety.lexicon import safety_check, safety_text_of

NOTE_MAX_LENGTH = 4000


def safety_due_at(received_at: datetime) -> datetime:
    """When drug safety must have a case received at `received_at` (SAFETY_CASE_DEADLINE_HOURS later)."""
    return received_at + timedelta(hours=settings.SAFETY_CASE_DEADLINE_HOURS)


def safety_cases_flag(*, messages: list[tuple[Message, datetime]], now: datetime) -> list[tuple[int | None, str, dict]]:
    """Check each newly stored HCP message (with when Rapport received it) against the safety lexicon and open a
    case for each that holds a safety term; returns the `safety_case.changed` events to publish with the batch.

    Called by the drain in the transaction that stored the messages, once per message (a replayed webhook
    stores nothing and so flags nothing; a message has at most one case). Without a hit it costs no query.
    Every message is left with its case, or none, cached for the message shape."""
    cases = []
    for message, received_at in messages:
        hits = None
        if message.kind != Message.Kind.SYSTEM:
            hits = safety_check(text=safety_text_of(message), now=now)
        if not hits:
            Message.safety_case.related.set_cached_value(message, None)
            continue
        case = SafetyCase(message=message, account=message.account,
                          rep_id=message.thread.user_id if message.thread_id else None,
                          matched_terms=hits.terms, products=hits.products, received_at=received_at,
                          due_at=safety_due_at(received_at))
        Message.safety_case.related.set_cached_value(message, case)
        cases.append(case)
    if not cases:
        return []
    bulk_insert(SafetyCase, cases)
    bulk_insert(SafetyCaseEvent, [
        SafetyCaseEvent(case=case, kind=SafetyCaseEvent.Kind.FLAGGED,
                        details={"terms": sorted({t["phrase"] for t in case.matched_terms}), "products": case.products})
        for case in cases])
    return [(case.rep_id, "safety_case.changed", safety_case_payload(case)) for case in cases]


def case_locked(case_id: int) -> SafetyCase:
    return (SafetyCase.objects.select_for_update(of=("self",))
            .select_related("message__thread", "account", "rep").get(pk=case_id))


def case_announce(case: SafetyCase) -> None:
    publish_on_commit(case.rep_id, "safety_case.changed", safety_case_payload(case))


@transaction.atomic
def safety_case_note(*, case: SafetyCase, author, note: str) -> SafetyCaseEvent:
    """The rep adds what they know to the case (appended to its trail; the case stays where it is)."""
    note = (note or "").strip()
    if not note:
        raise DomainError("invalid", _("Write a note."))
    if len(note) > NOTE_MAX_LENGTH:
        raise DomainError("invalid", _("A note holds at most %(count)s characters.") % {"count": f"{NOTE_MAX_LENGTH:,}"})
    case = case_locked(case.pk)
    event = SafetyCaseEvent.objects.create(case=case, kind=SafetyCaseEvent.Kind.NOTE, actor=author, note=note)
    case_announce(case)
    return event


@transaction.atomic
def safety_cases_seen(*, thread: Thread, now: datetime | None = None) -> int:
    """The rep opened the thread: its cases they had not seen yet are seen now (once each, in the trail)."""
    cases = list(SafetyCase.objects.select_for_update(of=("self",)).select_related("message__thread", "account", "rep")
                 .filter(message__thread=thread, seen_at=None))
    if not cases:
        return 0
    now = now or timezone.now()
    SafetyCase.objects.filter(pk__in=[case.pk for case in cases]).update(seen_at=now)
    SafetyCaseEvent.objects.bulk_create([
        SafetyCaseEvent(case=case, kind=SafetyCaseEvent.Kind.SEEN, actor_id=thread.user_id) for case in cases])
    for case in cases:
        case.seen_at = now
        case_announce(case)
    return len(cases)


def may_work_safety_cases(*, user) -> bool:
    """Who works the queue (forwards and closes cases): active staff allowed to change safety cases in admin."""
    return bool(user.is_active and user.is_staff and user.has_perm("chats.change_safetycase"))


@transaction.atomic
def safety_case_close(*, case: SafetyCase, actor, reason: str) -> SafetyCase:
    """Drug safety closes the case as not an adverse event, saying why. Never the rep."""
    if not may_work_safety_cases(user=actor):
        raise DomainError("permission_denied", _("Only drug safety may close a safety case."))
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("invalid", _("Say why this is not an adverse event."))
    case = case_locked(case.pk)
    if case.status == SafetyCase.Status.CLOSED:
        raise DomainError("case_closed", _("Safety case %(id)s is closed already.") % {"id": case.pk})
    case.status, case.closed_at, case.close_reason = SafetyCase.Status.CLOSED, timezone.now(), reason
    case.save(update_fields=["status", "closed_at", "close_reason"])
    SafetyCaseEvent.objects.create(case=case, kind=SafetyCaseEvent.Kind.CLOSED, actor=actor, note=reason)
    case_announce(case)
    return case
