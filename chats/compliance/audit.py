"""Writing the append-only audit trail: one helper, so every row has the same shape."""
from chats.models import AuditEvent
from chats.models.sql import bulk_insert


def audit_entry(*, kind: str, actor=None, account=None, phone_number=None, thread=None, message=None,
                **details) -> AuditEvent:
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
    return AuditEvent(kind=kind, actor=actor, account_id=account_id, phone_number_id=phone_number_id, thread=thread,
                      message=message, details=details)


def audit_save(entries: list[AuditEvent]) -> list[AuditEvent]:
    """Insert the rows built by `audit_entry`, in their order, with one statement."""
    return bulk_insert(AuditEvent, entries)


def audit(*, kind: str, **fields) -> AuditEvent:
    """Record one compliance-relevant happening now."""
    return audit_save([audit_entry(kind=kind, **fields)])[0]
