"""Writing the append-only audit trail: one helper, so every row has the same shape."""
from chats.models import AuditEvent


def audit(*, kind: str, actor=None, account=None, phone_number=None, thread=None, message=None, **details) -> AuditEvent:
    """Record one compliance-relevant happening. `details` must be JSON-serialisable."""
    if thread is not None:
        account = account or thread.account
        phone_number = phone_number or thread.phone_number
    if message is not None:
        account = account or message.account
        phone_number = phone_number or message.phone_number
    return AuditEvent.objects.create(
        kind=kind,
        actor=actor,
        account=account,
        phone_number=phone_number,
        thread=thread,
        message=message,
        details=details,
    )
