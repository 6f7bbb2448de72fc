"""Enqueueing by task name holds from the first request of a fresh process: the requests that
arrive together each find their task (before, all but one got NotRegistered, and a webhook's
bodies waited for the next drain)."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# A fresh process (nothing imported the tasks modules yet); eight request threads look up
# their task at the same moment.
FIRST_REQUESTS = """
import os, threading
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
import django; django.setup()
import config
from chats import jobs
names = [jobs.DRAIN_WEBHOOK_EVENTS, jobs.SEND_MESSAGE, jobs.PLAY_SANDBOX_STATUS]
errors, start = [], threading.Barrier(8)
def first_request(i):
    start.wait()
    try:
        jobs._task(names[i % 3])
    except Exception as exc:
        errors.append(repr(exc))
threads = [threading.Thread(target=first_request, args=(i,)) for i in range(8)]
[t.start() for t in threads]
[t.join() for t in threads]
print("not registered:", len(errors))
"""


def test_the_first_requests_of_a_fresh_process_find_their_tasks_together():
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")} | {"PYTHONPATH": str(ROOT)}
    for _ in range(3):  # each a fresh process
        run = subprocess.run([sys.executable, "-c", FIRST_REQUESTS], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        assert "not registered: 0" in run.stdout, run.stdout + run.stderr[-2000:]


def test_the_web_process_registers_every_task_before_serving():
    check = "import config.asgi; from celery import current_app; print(sorted(n for n in current_app.tasks if n.startswith(('chats.', 'templates_app.'))))"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    run = subprocess.run([sys.executable, "-c", check], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "chats.tasks.drain_webhook_events_task" in run.stdout and "chats.tasks.send_message_task" in run.stdout
