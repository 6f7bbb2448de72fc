"""The Celery app. On the embedded default tasks run eagerly, in process."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("rapport")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(["chats.compliance"])  # chats.compliance.tasks (retention)
