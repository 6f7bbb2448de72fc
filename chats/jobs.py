"""Background work enqueued by name: services never import the tasks module.

Tasks (chats/tasks.py and the apps' own) are thin wrappers that import services; a service
that hands work on names the task here instead, so the dependency points one way. Eagerly
(the embedded default, tests) the task runs in process, as Celery's `delay` does there.
"""
import threading

from celery import current_app

SEND_MESSAGE = "chats.tasks.send_message_task"
SEND_REACTION = "chats.tasks.send_reaction_task"
DRAIN_WEBHOOK_EVENTS = "chats.tasks.drain_webhook_events_task"
PLAY_SANDBOX_STATUS = "chats.tasks.sandbox_status_task"
FETCH_INBOUND_MEDIA = "chats.tasks.fetch_inbound_media_task"
MARK_TEMPLATE_REFUSED = "templates_app.tasks.template_refused_task"
SEND_READ_STATUS = "chats.tasks.read_status_task"
FAN_OUT_WEBHOOKS = "chats.tasks.webhook_fan_out_task"
DELIVER_WEBHOOK = "chats.tasks.deliver_webhook_task"
PUSH_NOTIFY = "chats.tasks.push_notify_task"


# One thread imports the tasks modules; the others wait for it. Unguarded, the first requests of a
# fresh process each started the import and all but one found the task not yet registered
# (NotRegistered: the webhook bodies of that drain waited for the next one).
_discovery = threading.Lock()


def _task(name: str):
    if name not in current_app.tasks:
        with _discovery:
            if name not in current_app.tasks:
                current_app.loader.import_default_modules()  # autodiscovers every app's tasks module
    return current_app.tasks[name]


def register_tasks() -> None:
    """Import every app's tasks module now (a web process calls this at start, before any request)."""
    with _discovery:
        current_app.loader.import_default_modules()


def enqueue(name: str, *args, countdown: float | None = None) -> None:
    """Queue task `name` with `args` (after `countdown` seconds, where a worker honours it)."""
    task = _task(name)
    if countdown is None:
        task.delay(*args)
    else:
        task.apply_async(args=list(args), countdown=countdown)


def runs_eagerly() -> bool:
    """True when tasks run in process at once (no worker to defer to)."""
    return bool(current_app.conf.task_always_eager)
