"""Reading safety cases: the queue drug safety works (admin and API share it), the rep's own cases, and
where a case stands against its deadline."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from chats.errors import NotFound
from chats.models import SafetyCase

OVERDUE, DUE_SOON, ON_TIME, DONE = "overdue", "due_soon", "on_time", "done"
DUE_STATES = (OVERDUE, DUE_SOON, ON_TIME, DONE)


def due_soon_from(now: datetime) -> datetime:
    return now + timedelta(hours=settings.SAFETY_CASE_DUE_SOON_HOURS)


def safety_case_due_state(case: SafetyCase, *, now: datetime) -> str:
    """`done` once forwarded or closed; else `overdue` past its deadline, `due_soon` within
    SAFETY_CASE_DUE_SOON_HOURS of it, `on_time`."""
    if case.status != SafetyCase.Status.OPEN:
        return DONE
    if case.due_at <= now:
        return OVERDUE
    return DUE_SOON if case.due_at <= due_soon_from(now) else ON_TIME


def cases_due(cases: QuerySet[SafetyCase], *, due: str, now: datetime) -> QuerySet[SafetyCase]:
    """The cases in due state `due` (`DUE_STATES`, as `safety_case_due_state` tells one case)."""
    soon = due_soon_from(now)
    if due == OVERDUE:
        return cases.filter(status=SafetyCase.Status.OPEN, due_at__lte=now)
    if due == DUE_SOON:
        return cases.filter(status=SafetyCase.Status.OPEN, due_at__gt=now, due_at__lte=soon)
    if due == ON_TIME:
        return cases.filter(status=SafetyCase.Status.OPEN, due_at__gt=soon)
    return cases.exclude(status=SafetyCase.Status.OPEN)


def cases_naming(cases: QuerySet[SafetyCase], *, product: str) -> QuerySet[SafetyCase]:
    """The cases whose message names `product` (as the lexicon spells it)."""
    # The JSON list as text holds the name in quotes: escaped (SQLite) or as it is (PostgreSQL).
    return cases.filter(Q(products__icontains=json.dumps(product))
                        | Q(products__icontains=json.dumps(product, ensure_ascii=False)))


def safety_cases_queue(*, now: datetime, status: str | None = None, due: str | None = None,
                       product: str | None = None, country: str | None = None, rep_id: int | None = None,
                       received_since: datetime | None = None) -> QuerySet[SafetyCase]:
    """Cases for drug safety, the earliest deadline first, filtered by status, due state (`DUE_STATES`),
    a product the message names, the HCP's country, the rep, when received."""
    cases = SafetyCase.objects.select_related("message", "account", "rep")
    if status:
        cases = cases.filter(status=status)
    if due:
        cases = cases_due(cases, due=due, now=now)
    if product:
        cases = cases_naming(cases, product=product)
    if country:
        cases = cases.filter(account__country=country.upper())
    if rep_id:
        cases = cases.filter(rep_id=rep_id)
    if received_since:
        cases = cases.filter(received_at__gte=received_since)
    return cases.order_by("due_at", "id")


def safety_case_for_rep(*, user, case_id: int) -> SafetyCase:
    """A case on one of the user's own threads; NotFound for any other (which is not revealed)."""
    case = (SafetyCase.objects.select_related("message__thread", "account", "rep")
            .filter(pk=case_id, message__thread__user=user).first())
    if case is None:
        raise NotFound("not_found", _("No such safety case."))
    return case


def safety_case_with_trail(*, case_id: int) -> SafetyCase:
    case = (SafetyCase.objects.select_related("message", "account", "rep")
            .prefetch_related("trail__actor").filter(pk=case_id).first())
    if case is None:
        raise NotFound("not_found", _("No such safety case."))
    return case
