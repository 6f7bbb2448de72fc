"""Celery tasks for templates: thin wrappers around templates_app.services."""
from celery import shared_task

from templates_app.services import sync_all_templates, template_refused_by_meta


@shared_task
def sync_all_templates_task():
    """Hourly (CELERY_BEAT_SCHEDULE): read every WABA's templates from Meta."""
    return [str(result) for result in sync_all_templates()]


@shared_task
def template_refused_task(template_id: int, error_code: int):
    """A send refused with 132015/132016: mark the template (chats/delivery/handoff.py enqueues this)."""
    return template_refused_by_meta(template_id=template_id, error_code=error_code)
