"""Beat task for retention: a thin wrapper around the service."""
from celery import shared_task


@shared_task
def redact_expired_bodies_task() -> dict:
    from chats.compliance.retention import redact_expired_bodies

    return redact_expired_bodies()
