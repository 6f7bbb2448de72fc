"""The change feed: every change an integration may follow, in commit order, read from an opaque cursor.

Written in the writing transaction (`changes_record`, called by chats/realtime/events.py for every live
event, and by the services whose changes have no live event), so a committed change always has its row
and a rolled-back one never does. Rows get their place (`seq`) only once committed: a reader first stamps
the committed rows that have none with the next numbers, one stamper at a time, in id order
(`changes_stamp`), then reads `seq > cursor`. A row still uncommitted at that moment is invisible and is
stamped by a later reader, after everything stamped so far, so a client that pages from its last cursor
never misses or doubles one. A change that depended on another (it saw it committed) was written after
it, so it has a higher id and is never stamped before it.
"""
from __future__ import annotations

import base64
import binascii
import json

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Min
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _

from chats import jobs
from chats.errors import DomainError, Gone
from chats.models import Change, WebhookSubscription
from chats.models.sql import insert_rows
from chats.process_cache import ProcessCache

CHANGE_TYPES = ("message.created", "message.status", "message.updated", "message.reaction", "thread.state",
                "consent.changed", "account.rekeyed", "account.updated", "safety_case.changed")
# Changes only an integration with the `safety:read` scope reads (and may subscribe to).
SAFETY_CHANGE_TYPES = ("safety_case.changed",)
STAMP_BATCH = 5000
# Any constant: the advisory lock that makes stampers take turns on PostgreSQL.
_STAMP_LOCK = 7_201_021


def _feed_entry(event_type: str, payload: dict) -> tuple[str, dict, int | None, int | None]:
    """A live event as the feed keeps it: a consent change is the account's, whichever rep's thread heard it."""
    if event_type == "consent.changed":
        return event_type, {"account": payload["account"], "consent": payload["consent"]}, None, payload["account"]
    if event_type in ("account.rekeyed", "account.updated"):
        return event_type, payload, None, payload["account"]
    return event_type, payload, payload.get("thread"), None


def changes_record(events: list[tuple[str, dict]]) -> None:
    """Append (type, payload) changes to the feed in this transaction, each once (a consent change
    fanned out to several reps' threads is one change)."""
    rows, seen = [], set()
    for event_type, payload in events:
        if event_type not in CHANGE_TYPES:
            raise ValueError(f"unknown change type {event_type!r}")
        change_type, data, thread_id, account_id = _feed_entry(event_type, payload)
        if thread_id is None:  # an account's change, heard on each rep's thread: kept once
            key = (change_type, json.dumps(data, sort_keys=True, default=str))
            if key in seen:
                continue
            seen.add(key)
        rows.append({"type": change_type, "payload": data, "thread_id": thread_id, "account_id": account_id})
    if rows:
        insert_rows(Change, rows)
        transaction.on_commit(_wake_fan_out, robust=True)


# Whether any webhook listens, read at most every 10 s per process: most deployments have none, and a
# commit then enqueues nothing. Saving or deleting a subscription forgets it at once in that process.
_webhooks_subscribed = ProcessCache(
    lambda: WebhookSubscription.objects.filter(is_active=True, integration__revoked_at=None).exists(), ttl=10.0)
forget_subscriptions = _webhooks_subscribed.forget
post_save.connect(forget_subscriptions, sender=WebhookSubscription, weak=False, dispatch_uid="webhooks-save")
post_delete.connect(forget_subscriptions, sender=WebhookSubscription, weak=False, dispatch_uid="webhooks-delete")
FAN_OUT_SCHEDULED = "integration.webhooks.fan-out-scheduled"


def _wake_fan_out() -> None:
    """After a commit that wrote changes: have the webhooks' fan-out run soon, once however many commits
    ask (the fan-out clears the mark when it starts, so a commit after that wakes the next one)."""
    if _webhooks_subscribed.get() and cache.add(FAN_OUT_SCHEDULED, 1, timeout=30):
        jobs.enqueue(jobs.FAN_OUT_WEBHOOKS)


def changes_stamp() -> int:
    """Give the committed, unstamped changes their place after every stamped one, in id order. Returns
    how many were stamped. On PostgreSQL stampers take turns under an advisory lock (each statement sees
    what the previous stamper committed); SQLite has one writer at a time anyway."""
    quote = connection.ops.quote_name
    table = quote(Change._meta.db_table)
    stamped = 0
    with transaction.atomic():
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_STAMP_LOCK])
            cursor.execute(
                f"UPDATE {table} SET seq = numbered.place FROM ("
                f" SELECT id, (SELECT COALESCE(MAX(seq), 0) FROM {table}) + ROW_NUMBER() OVER (ORDER BY id) AS place"
                f" FROM {table} WHERE seq IS NULL ORDER BY id LIMIT %s) AS numbered"
                f" WHERE {table}.id = numbered.id", [STAMP_BATCH])
            stamped = cursor.rowcount
    return stamped


# --- the opaque cursor -------------------------------------------------------------


def cursor_of(seq: int) -> str:
    return base64.urlsafe_b64encode(f"c1:{seq}".encode()).decode().rstrip("=")


def seq_of(cursor: str | None) -> int:
    """The position a cursor names (0, the start, without one); DomainError `invalid_cursor` otherwise."""
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, _colon, number = text.partition(":")
        if version != "c1" or not (number.isascii() and number.isdigit()):
            raise ValueError(text)
        return int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise DomainError("invalid_cursor", _("The cursor is not one this API gave out; start from "
                                            "your last good cursor, or without one.")) from None


def changes_after(*, seq: int, limit: int, types: set[str] | None = None) -> list[Change]:
    """The next `limit` changes after `seq`, oldest first (stamp first: see `changes_stamp`). A cursor
    from before the oldest kept change (chats/integration/retention.py) missed pruned ones: Gone
    `cursor_expired`."""
    while changes_stamp() == STAMP_BATCH:
        pass  # a backlog bigger than a batch: stamp it all so the page is the oldest
    if seq:
        oldest = Change.objects.filter(seq__isnull=False).aggregate(low=Min("seq"))["low"]
        if oldest is not None and seq < oldest - 1:  # the kept feed is a contiguous run of places
            raise Gone("cursor_expired", "This cursor is older than the change feed keeps (changes are kept "
                                         f"{settings.INTEGRATION_CHANGE_RETENTION_DAYS} days): resync from the lists "
                                         "with `updated_since`, then follow the feed again without a cursor.")
    rows = Change.objects.filter(seq__gt=seq)
    if types:
        rows = rows.filter(type__in=types)
    return list(rows.order_by("seq")[:limit])


def latest_seq() -> int:
    changes_stamp()
    last = Change.objects.filter(seq__isnull=False).order_by("-seq").values_list("seq", flat=True).first()
    return last or 0


def change_fields(change: Change) -> dict:
    """A change as the feed and the webhooks send it."""
    return {"id": change.pk, "cursor": cursor_of(change.seq), "type": change.type,
            "at": change.at.isoformat().replace("+00:00", "Z"), "thread": change.thread_id,
            "account": change.account_id, "data": change.payload}
