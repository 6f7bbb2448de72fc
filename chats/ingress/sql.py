"""The drain's look-ups and writes, written out (chats/models/sql.py says why): private to ingress.

Every function here serves one step of chats/ingress/messages.py for a whole batch at once,
in one statement (or a few) whatever the batch's size.
"""
from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.db.models import Case, F, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from chats.conversations.policy import ROLLED_FIELDS
from chats.models import Conversation, Message, PhoneNumber, Thread
from chats.models.sql import among, bulk_insert, for_update, is_postgresql, load_models, model_columns


def numbers_with_assignees(phone_number_ids: set[str]) -> tuple[dict[str, PhoneNumber], dict[int, set[int]]]:
    """The business numbers by Meta's phone_number_id, and each one's assigned reps, in one statement."""
    if not phone_number_ids:
        return {}, {}
    ids, params = among(phone_number_ids)
    numbers, assignees = {}, {}
    for number in load_models(
            PhoneNumber, f"SELECT {model_columns(PhoneNumber, 'n')}, a.user_id FROM chats_phonenumber n"
            f" LEFT JOIN chats_phoneassignment a ON a.phone_number_id = n.id WHERE n.phone_number_id {ids}",
            params, extra=("assignee_id",)):
        numbers.setdefault(number.phone_number_id, number)
        if number.assignee_id is not None:
            assignees.setdefault(number.pk, set()).add(number.assignee_id)
    return numbers, assignees


def stored_copies(wamids: set[str]) -> dict[str, Message]:
    if not wamids:
        return {}
    ids, params = among(wamids)
    return {m.wamid: m for m in load_models(
        Message, f"SELECT {model_columns(Message, 'm')} FROM chats_message m WHERE m.wamid {ids}", params)}


def conversations_locked(pairs: set[tuple[int, int]]) -> dict[tuple[int, int], Conversation]:
    """`conversation_lock` (chats/conversations/policy.py) for several (number id, HCP id) pairs, in three statements at most:
    the existing rows locked in id order (so two drains never wait on each other in a cycle),
    the missing ones inserted (a copy inserted meanwhile by another drain is left alone), and
    those locked in turn."""
    if not pairs:
        return {}
    found = _locked_conversations(pairs)
    missing = pairs - found.keys()
    if missing:
        bulk_insert(Conversation, [Conversation(phone_number_id=n, account_id=a) for n, a in sorted(missing)],
                    ignore_conflicts=True)
        found |= _locked_conversations(missing)
    return found


def _locked_conversations(pairs: set[tuple[int, int]]) -> dict[tuple[int, int], Conversation]:
    # Numbers x HCPs, not an OR of pairs: a batch's messages almost always reach one number,
    # where the two are the same rows. With several numbers a few more rows are locked, still
    # in id order.
    numbers, number_params = among({n for n, _ in pairs})
    accounts, account_params = among({a for _, a in pairs})
    rows = load_models(
        Conversation, f"SELECT {model_columns(Conversation, 'c')} FROM chats_conversation c"
        f" WHERE c.phone_number_id {numbers} AND c.account_id {accounts} ORDER BY c.id{for_update()}",
        number_params + account_params)
    return {pair: c for c in rows if (pair := (c.phone_number_id, c.account_id)) in pairs}


def threads_for(keys: set[tuple[int, int, int]]) -> dict[tuple[int, int, int], Thread]:
    """The (rep, HCP, number) threads, read in one query; the missing ones inserted together and read."""
    if not keys:
        return {}
    found = _threads_matching(keys)
    missing = keys - found.keys()
    if missing:
        bulk_insert(Thread, [Thread(user_id=u, account_id=a, phone_number_id=n) for u, a, n in sorted(missing)],
                    ignore_conflicts=True)
        found |= _threads_matching(missing)
    return found


def _threads_matching(keys: set[tuple[int, int, int]]) -> dict[tuple[int, int, int], Thread]:
    users, user_params = among({u for u, _, _ in keys})
    accounts, account_params = among({a for _, a, _ in keys})
    numbers, number_params = among({n for _, _, n in keys})
    rows = load_models(  # a superset: kept are the keys
        Thread, f"SELECT {model_columns(Thread, 't')} FROM chats_thread t WHERE t.user_id {users}"
        f" AND t.account_id {accounts} AND t.phone_number_id {numbers}",
        user_params + account_params + number_params)
    return {key: t for t in rows if (key := (t.user_id, t.account_id, t.phone_number_id)) in keys}


def conversations_save_rolled(conversations: list[Conversation]) -> None:
    """Write the fields `_roll_window` changed (ROLLED_FIELDS) of these locked rows: one UPDATE on
    PostgreSQL whatever their number, one per row elsewhere."""
    if not conversations:
        return
    if not is_postgresql():
        for conversation in conversations:
            conversation.save(update_fields=ROLLED_FIELDS)
        return
    now = timezone.now()
    for conversation in conversations:
        conversation.updated_at = now  # as save() would (auto_now)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE chats_conversation AS c SET last_inbound_at = v.last_inbound_at,"
            " last_inbound_received_at = v.last_inbound_received_at,"
            " window_expires_at = v.window_expires_at, owner_id = v.owner_id, expiry_warned_at = v.expiry_warned_at,"
            " expiry_announced_at = v.expiry_announced_at, ended_at = v.ended_at, ended_by_id = v.ended_by_id,"
            " updated_at = %s"
            " FROM unnest(%s::bigint[], %s::timestamptz[], %s::timestamptz[], %s::timestamptz[], %s::bigint[],"
            " %s::timestamptz[], %s::timestamptz[], %s::timestamptz[], %s::bigint[])"
            " AS v(id, last_inbound_at, last_inbound_received_at, window_expires_at, owner_id, expiry_warned_at,"
            " expiry_announced_at, ended_at, ended_by_id) WHERE c.id = v.id",
            [now] + [[getattr(c, name) for c in conversations] for name in (
                "pk", "last_inbound_at", "last_inbound_received_at", "window_expires_at", "owner_id",
                "expiry_warned_at", "expiry_announced_at", "ended_at", "ended_by_id")])


def threads_touch(activity: dict[int, datetime]) -> None:
    """Move each thread's `last_activity_at` to its time in `activity`, only ever forward: a late
    copy of an older message leaves a newer activity alone."""
    if not activity:
        return
    if not is_postgresql():
        Thread.objects.filter(pk__in=activity).update(last_activity_at=Case(
            *[When(pk=pk, then=Greatest(Coalesce(F("last_activity_at"), Value(at)), Value(at)))
              for pk, at in activity.items()]))
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE chats_thread AS t SET last_activity_at = GREATEST(COALESCE(t.last_activity_at, v.at), v.at)"
            " FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(id, at) WHERE t.id = v.id",
            [list(activity), list(activity.values())])
