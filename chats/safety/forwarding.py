"""Handing cases to drug safety by e-mail (SAFETY_MAILBOX, through Django's e-mail backend): one case at a
click, with the case as a JSON attachment, once; and a daily digest of the overdue ones."""
from __future__ import annotations

import json
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from chats.errors import DomainError
from chats.models import SafetyCase, SafetyCaseEvent
from chats.realtime.payloads import safety_case_fields, safety_trail_fields
from chats.safety.cases import case_announce, case_locked, may_work_safety_cases


def safety_case_document(case: SafetyCase) -> dict:
    """The case as drug safety receives it: the case (`safety_case_fields`) and its whole trail."""
    return {**safety_case_fields(case),
            "trail": [safety_trail_fields(e) for e in case.trail.select_related("actor").order_by("at", "id")]}


def _summary(case: SafetyCase) -> str:
    who = case.account.name if case.account_id else (case.message.wa_from or "an unknown sender")
    terms = ", ".join(sorted({t["phrase"] for t in case.matched_terms}))
    products = ", ".join(case.products) or "none named"
    return (f"Possible adverse event reported by {who} on {case.received_at:%Y-%m-%d %H:%M %Z}.\n"
            f"Due to drug safety by {case.due_at:%Y-%m-%d %H:%M %Z}.\n\n"
            f"Message:\n{case.message.body}\n\n"
            f"Safety terms: {terms}\nProducts: {products}\n"
            f"Rep: {case.rep.get_username() if case.rep_id else 'none (unrouted)'}\n\n"
            f"The attached safety-case-{case.pk}.json holds the case and its trail.\n")


@transaction.atomic
def safety_case_forward(*, case: SafetyCase, actor) -> tuple[SafetyCase, bool]:
    """E-mail the case to SAFETY_MAILBOX with the case attached, once: (case, True) when this call sent it,
    (case, False) when it had been sent already. The row stays locked until the mail is handed to the
    backend, so two clicks send one mail; a backend that fails rolls the forward back."""
    if not may_work_safety_cases(user=actor):
        raise DomainError("permission_denied", _("Only drug safety may forward a safety case."))
    case = case_locked(case.pk)
    if case.forwarded_at is not None:
        return case, False
    if case.status == SafetyCase.Status.CLOSED:
        raise DomainError("case_closed", _("Safety case %(id)s was closed as not an adverse event.") % {"id": case.pk})
    now = timezone.now()
    case.status, case.forwarded_at = SafetyCase.Status.FORWARDED, now
    event = SafetyCaseEvent(case=case, kind=SafetyCaseEvent.Kind.FORWARDED, actor=actor,
                            details={"to": settings.SAFETY_MAILBOX})
    mail = EmailMessage(subject=f"[Rapport] Possible adverse event: safety case {case.pk}", body=_summary(case),
                        to=[settings.SAFETY_MAILBOX])
    mail.attach(f"safety-case-{case.pk}.json",
                json.dumps(safety_case_document(case) | {"forwarded_by": actor.get_username()}, indent=2,
                           ensure_ascii=False), "application/json")
    mail.send(fail_silently=False)
    case.save(update_fields=["status", "forwarded_at"])
    event.save()
    case_announce(case)
    return case, True


def overdue_cases(*, now: datetime) -> list[SafetyCase]:
    """Open cases past their deadline, the most overdue first."""
    return list(SafetyCase.objects.filter(status=SafetyCase.Status.OPEN, due_at__lt=now)
                .select_related("message", "account", "rep").order_by("due_at", "id"))


def safety_digest_send(*, now: datetime | None = None) -> int:
    """Mail SAFETY_MAILBOX the list of overdue cases (none overdue: no mail); returns how many it listed."""
    now = now or timezone.now()
    cases = overdue_cases(now=now)
    if not cases:
        return 0
    lines = [f"- case {case.pk}: due {case.due_at:%Y-%m-%d %H:%M %Z}, "
             f"{case.account.name if case.account_id else 'unknown sender'}, "
             f"rep {case.rep.get_username() if case.rep_id else 'none'}: {' '.join(case.message.body.split())[:120]}"
             for case in cases]
    EmailMessage(subject=f"[Rapport] {len(cases)} overdue safety case(s)",
                 body="These possible adverse events are past their deadline and not yet forwarded:\n\n"
                      + "\n".join(lines) + "\n", to=[settings.SAFETY_MAILBOX]).send(fail_silently=False)
    return len(cases)
