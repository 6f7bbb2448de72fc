"""A rep's inbox as the API and the pages read it: their numbers, the accounts they may see,
their threads and messages. Each list is one annotated query (plus at most one bulk
follow-up), so the number of queries never grows with the data. A thread's `state` is the
conversation policy's (chats/conversations/policy.py)."""
from __future__ import annotations

import re
from datetime import datetime, timezone as dt_timezone

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import (
    Count, DateTimeField, Exists, F, IntegerField, Lookup, OuterRef, Q, QuerySet, Subquery, Value,
)
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from chats.errors import NotFound
from chats.inbox.access import on_account_team
from chats.models import Account, Message, PhoneAssignment, PhoneNumber, Thread, written_at_expression
from chats.realtime.payloads import reactions_prefetch
from consent.models import ConsentRecord, ConsentStatus

_EPOCH = datetime(1970, 1, 1, tzinfo=dt_timezone.utc)


# --- people and numbers ----------------------------------------------------------


def phone_numbers_for_user(*, user) -> QuerySet[PhoneNumber]:
    """The user's assigned numbers, each with `is_shared` (another rep is assigned too)."""
    others = PhoneAssignment.objects.filter(phone_number=OuterRef("pk")).exclude(user=user)
    return (
        PhoneNumber.objects.filter(assignments__user=user)
        .annotate(is_shared=Exists(others))
        .order_by("display_phone_number", "id")
    )


# --- accounts --------------------------------------------------------------------


class _EqualsAny(Lookup):
    """`lhs = ANY(rhs)`, rhs an array (PostgreSQL)."""

    lookup_name = "equals_any"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY({rhs})", (*lhs_params, *rhs_params)


def _visible_accounts(*, user) -> QuerySet[Account]:
    # Exists over the team table, not a join, so an account never comes back twice.
    return Account.objects.filter(on_account_team(account_ref="pk", user_id=user.pk))


def _team_accounts(*, user) -> QuerySet[Account]:
    """Every account the user may see, read from their team first (for lists and searches).

    A rep's team is hundreds of accounts out of 100,000. As a semi-join, PostgreSQL prices
    a scan of every account (testing the search on each) below probing the team's ids
    once the team passes ~550 accounts, and takes it: 35-60 ms instead of 3
    (docs/performance.md). `id = ANY(ARRAY(team ids))` leaves it only the probes, so the
    cost follows the team, not the table. Other databases keep the semi-join.
    """
    if connection.vendor != "postgresql":
        return _visible_accounts(user=user)
    team = Account.team.through.objects.filter(user_id=user.pk).values("account_id")
    return Account.objects.filter(_EqualsAny(F("pk"), ArraySubquery(team)))


def _with_summary(qs: QuerySet[Account], *, user) -> QuerySet[Account]:
    # consent_status is a subquery, not a join: the page is sorted on has_thread and name only,
    # so PostgreSQL looks the consent up for the rows it returns, not for every team account.
    consent = ConsentRecord.objects.filter(account_id=OuterRef("pk")).values("status")[:1]
    return qs.annotate(
        has_thread=Exists(Thread.objects.filter(user_id=user.pk, account_id=OuterRef("pk"))),
        consent_status=Coalesce(Subquery(consent), Value(ConsentStatus.NOT_CAPTURED)),
    )


def accounts_for_search(*, user, search: str = "") -> QuerySet[Account]:
    """Accounts the user may see, those they have a thread with first, then by name.

    `search` matches the name (case-insensitive substring) or, when it holds digits,
    the WhatsApp number's digits ("+44 7700" and "447700" find the same HCPs); "@name" finds the HCP
    whose WhatsApp username that is.
    """
    qs = _with_summary(_team_accounts(user=user), user=user)
    search = (search or "").strip()
    if search.startswith("@"):  # a WhatsApp username: only then, so a name search keeps its index
        return qs.filter(whatsapp_username__iexact=search[1:]).order_by(F("has_thread").desc(), "name", "id")
    if search:
        condition = Q(name__icontains=search)
        digits = re.sub(r"\D", "", search)
        if digits and len(digits) >= len(re.sub(r"[\s+()\-.]", "", search)):
            # The search is a phone number (only digits and separators).
            condition |= Q(whatsapp_number__contains=digits)
        qs = qs.filter(condition)
    return qs.order_by(F("has_thread").desc(), "name", "id")


def account_for_user(*, user, account_id: int) -> Account:
    """One visible account with its summary; NotFound when the user may not see it."""
    account = _with_summary(_visible_accounts(user=user), user=user).filter(pk=account_id).first()
    if account is None:
        raise NotFound("not_found", _("No such account."))
    return account


# --- threads ---------------------------------------------------------------------


def threads_for_user(*, user) -> QuerySet[Thread]:
    """The user's threads, latest activity first, with `last_message_id` and `unread_count`.

    Call `attach_last_messages` on the page to load those messages in one query.
    """
    own = Message.objects.filter(thread=OuterRef("pk"))
    last_id = own.alias(written_at=written_at_expression()).order_by("-written_at", "-id").values("id")[:1]
    unread = (
        own.filter(
            direction=Message.Direction.INBOUND,
            created_at__gt=Coalesce(OuterRef("last_read_at"), Value(_EPOCH, output_field=DateTimeField())),
        )
        .order_by()
        .values("thread")
        .annotate(n=Count("id"))
        .values("n")
    )
    return (
        Thread.objects.filter(on_account_team(), user=user)
        .select_related("account", "phone_number")  # a list shows no consent: thread_state reads it
        .annotate(
            last_message_id=Subquery(last_id, output_field=IntegerField()),
            unread_count=Coalesce(Subquery(unread, output_field=IntegerField()), Value(0)),
        )
        .order_by(F("last_activity_at").desc(nulls_last=True), "-created_at", "-id")
    )


def attach_last_messages(threads) -> list[Thread]:
    """Set `thread.last_message` on each thread of a page, with one query."""
    threads = list(threads)
    ids = [t.last_message_id for t in threads if t.last_message_id]
    # Only what a list shows (LastMessageOutput, the chat list item): the other columns hold
    # eight timestamps and two JSON documents per row. Reading a deferred field would cost a
    # query per thread, which the query-count tests would catch.
    shown = ("id", "thread_id", "direction", "kind", "body", "status", "created_at")
    messages = {m.id: m for m in Message.objects.filter(id__in=ids).only(*shown).order_by()} if ids else {}
    for thread in threads:
        thread.last_message = messages.get(thread.last_message_id)
    return threads


def thread_for_user(*, user, thread_id: int) -> Thread:
    """The user's own thread, while they may see its HCP; NotFound for anyone else's (so its existence
    is not revealed) and for one whose HCP they no longer may see."""
    thread = (
        Thread.objects.select_related("account", "account__consent", "phone_number", "phone_number__waba")
        .filter(on_account_team(), pk=thread_id, user=user)
        .first()
    )
    if thread is None:
        raise NotFound("not_found", _("No such thread."))
    return thread


def messages_for_thread(*, thread: Thread) -> QuerySet[Message]:
    """Only this thread's messages (never another rep's on the same number), in the order they were
    written (`written_at`: WhatsApp's time for the HCP's, ours for the rep's), oldest first."""
    return (
        Message.objects.filter(thread=thread)
        .alias(written_at=written_at_expression())
        .select_related("reply_to", "template", "sender", "safety_case")
        .prefetch_related(reactions_prefetch())  # one query for a whole page's reactions
        .order_by("written_at", "id")
    )
