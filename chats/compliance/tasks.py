"""Beat tasks for retention and the dashboard rollup: thin wrappers around the services."""
from celery import shared_task

from chats.compliance.retention import redact_expired_bodies
from chats.compliance.rollup import dashboard_rollup_refresh, rollup_days_due


@shared_task
def redact_expired_bodies_task() -> dict:
    return redact_expired_bodies()


@shared_task
def refresh_dashboard_rollup_task() -> dict:
    """Every 15 minutes: recompute the recent days of the dashboard rollup and any day never rolled up."""
    return dashboard_rollup_refresh(days=rollup_days_due())
