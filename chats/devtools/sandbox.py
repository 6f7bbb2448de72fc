"""The sandbox as `make run` uses it: sends accepted offline, and Meta's sent → delivered → read
status webhooks played for each through the real inbound path (chats/devtools/simulator.py)."""
from __future__ import annotations

import threading

from django.conf import settings
from django.db import close_old_connections, transaction

from chats import jobs
from chats.devtools.simulator import play_status
from chats.whatsapp.backends import SandboxBackend, SendResult

# Seconds after the send at which the sandbox plays each status (a real worker honours them; eager runs at once).
SANDBOX_STATUS_DELAYS = (("sent", 0), ("delivered", 1), ("read", 3))


def _play_in_thread(*args) -> None:
    try:
        play_status(phone_number_id=args[0], wamid=args[1], recipient_id=args[2], status=args[3])
    finally:
        close_old_connections()


class ReplayingSandboxBackend(SandboxBackend):
    """The `sandbox` backend of WHATSAPP_BACKENDS: plays Meta's statuses after each stored send."""

    def message_stored(self, *, result: SendResult) -> None:
        args = [result.phone_number_id, result.wamid, result.to]
        paced = settings.WHATSAPP_SANDBOX_PACED and jobs.runs_eagerly()

        def play():
            for status, delay in SANDBOX_STATUS_DELAYS:
                if paced and delay:
                    # Eager Celery ignores countdowns; a timer thread keeps the ticks arriving
                    # one by one, as a rep would see them with Meta, instead of all at once.
                    timer = threading.Timer(delay, _play_in_thread, args=[*args, status])
                    timer.daemon = True
                    timer.start()
                else:
                    jobs.enqueue(jobs.PLAY_SANDBOX_STATUS, *args, status, countdown=delay)

        transaction.on_commit(play, robust=True)
