"""Writing the append-only audit trail: one helper, so every row has the same shape."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection
from django.utils import timezone

from chats.models import AuditEvent
from chats.models.sql import insert_rows


@dataclass(slots=True)
class AuditEntry:
    """One AuditEvent row before it is written: plain values, not a model instance (a drain writes three
    rows a message, and building an AuditEvent cost more than writing its row: docs/performance.md).
    `thread` and `message` are kept as objects, so an entry built before its message was saved takes
    the message's id when it is written."""

    kind: str
    actor_id: int | None
    account_id: int | None
    phone_number_id: int | None
    thread: object | None
    message: object | None
    details: dict = field(default_factory=dict)
    pk: int | None = None
    at: datetime | None = None


def audit_entry(*, kind: str, actor=None, account=None, phone_number=None, thread=None, message=None,
                **details) -> AuditEntry:
    """One compliance-relevant happening as an unsaved row; `details` must be JSON-serialisable.

    Save it with `audit_save` (several rows of one use case go in one INSERT) or use `audit`.
    """
    # By id: the thread's or message's account and number need not be loaded for their row.
    account_id = account.pk if account is not None else None
    phone_number_id = phone_number.pk if phone_number is not None else None
    for owner in (thread, message):
        if owner is not None:
            account_id = account_id or owner.account_id
            phone_number_id = phone_number_id or owner.phone_number_id
    return AuditEntry(kind=kind, actor_id=actor.pk if actor is not None else None, account_id=account_id,
                      phone_number_id=phone_number_id, thread=thread, message=message, details=details)


def _saved_id(owner, name: str) -> int | None:
    if owner is None:
        return None
    if owner.pk is None:  # as the ORM refuses it: the row would silently lose its link
        raise ValueError(f"audit entry: its {name} was never saved")
    return owner.pk


def _row(entry: AuditEntry, at) -> dict:
    """The entry as its AuditEvent row, by attribute name, in the model's field order."""
    return {"kind": entry.kind, "at": at, "actor_id": entry.actor_id, "account_id": entry.account_id,
            "phone_number_id": entry.phone_number_id, "thread_id": _saved_id(entry.thread, "thread"),
            "message_id": _saved_id(entry.message, "message"), "details": entry.details}


def audit_save(entries: list[AuditEntry]) -> list[AuditEntry]:
    """Insert the rows built by `audit_entry`, in their order, with one statement."""
    if not entries:
        return entries
    at = timezone.now()
    ids = insert_rows(AuditEvent, [_row(e, at) for e in entries])
    for entry, pk in zip(entries, ids, strict=True):
        entry.pk, entry.at = pk, at
    return entries


def audit(*, kind: str, **fields) -> AuditEvent:
    """Record one compliance-relevant happening now; returns the stored row."""
    entry = audit_save([audit_entry(kind=kind, **fields)])[0]
    row = _row(entry, entry.at)
    return AuditEvent.from_db(connection.alias, ["id", *row], [entry.pk, *row.values()])
