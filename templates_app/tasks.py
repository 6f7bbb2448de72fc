"""Celery tasks for templates: thin wrappers around templates_app.services."""
from celery import shared_task

from templates_app.services import sync_all_templates


@shared_task
def sync_all_templates_task():
    """Hourly (CELERY_BEAT_SCHEDULE): read every WABA's templates from Meta."""
    return [str(result) for result in sync_all_templates()]
