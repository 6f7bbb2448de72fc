"""The Celery app. On the embedded default tasks run eagerly, in process."""
import gc
import os

from celery import Celery
from celery.signals import task_postrun, worker_init, worker_process_init, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("rapport")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(["chats.compliance"])  # chats.compliance.tasks (retention, dashboard rollup)


@worker_init.connect
def _refuse_to_work_on_failed_checks(**_kwargs):
    """As config/asgi.py for the web tier: a worker on the cloud backend with a shipped or empty
    secret (chats/checks.py) does not start, so it never sends with them."""
    import django
    from django.core.exceptions import ImproperlyConfigured

    django.setup()
    from chats.checks import refuse_to_serve_on_failed_checks

    try:
        refuse_to_serve_on_failed_checks()
    except ImproperlyConfigured as refused:
        # Celery logs and swallows an Exception from a signal handler; SystemExit stops the worker.
        raise SystemExit(str(refused)) from None


@worker_ready.connect
def _drain_webhooks_on_start(**_kwargs):
    """Bodies a killed worker had claimed are due again once their lease ends: look at once."""
    app.send_task("chats.tasks.drain_webhook_events_task", args=[0, False])


@worker_process_init.connect
def _freeze_startup_objects(**_kwargs):
    """As config/asgi.py: what a worker process loaded at start stays out of full collections."""
    gc.freeze()


@task_postrun.connect
def _release_database_sessions(sender=None, **_kwargs):
    """As after a web request, but a sound session is kept for the next task (a worker process is
    one long-lived thread): a broken or mid-transaction one is closed, so the next task starts on
    a sound one; Celery's fix-up recycles them every CELERY_DB_REUSE_MAX tasks."""
    if sender is not None and getattr(sender.request, "is_eager", False):
        return  # an eager task runs inside its caller's request and transaction
    from chats.db_session import session_keep_if_sound

    session_keep_if_sound()
