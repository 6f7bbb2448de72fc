"""Writing the append-only audit trail: one helper, so every row has the same shape."""
from chats.models import AuditEvent
from chats.sql import bulk_insert


def audit_entry(*, kind: str, actor=None, account=None, phone_number=None, thread=None, message=None,
                **details) -> AuditEvent:
    """One compliance-relevant happening as an unsaved row; `details` must be JSON-serialisable.

    Save it with `audit_save` (several rows of one use case go in one INSERT) or use `audit`.
    """
    if thread is not None:
        account = account or thread.account
        phone_number = phone_number or thread.phone_number
    if message is not None:
        account = account or message.account
        phone_number = phone_number or message.phone_number
    return AuditEvent(kind=kind, actor=actor, account=account, phone_number=phone_number, thread=thread,
                      message=message, details=details)


def audit_save(entries: list[AuditEvent]) -> list[AuditEvent]:
    """Insert the rows built by `audit_entry`, in their order, with one statement."""
    return bulk_insert(AuditEvent, entries)


def audit(*, kind: str, **fields) -> AuditEvent:
    """Record one compliance-relevant happening now."""
    return audit_save([audit_entry(kind=kind, **fields)])[0]
