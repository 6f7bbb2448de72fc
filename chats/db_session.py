"""The database session of a thread that outlives any one request: the webhook writer
(chats/ingress/ack.py) and each Celery worker process (config/celery.py)."""
from __future__ import annotations

from django.db import connection


def session_keep_if_sound() -> None:
    """After a unit of work (a webhook batch, a task), Django's end-of-request rule
    (`close_if_unusable_or_obsolete`): a broken or mid-transaction session is closed, so the next
    unit starts on a sound one. With a pool (the default on PostgreSQL, config/settings.py) a sound
    session goes back to it, and the next unit takes one from it: no new PostgreSQL session.
    Without one, `CONN_MAX_AGE=0` means "a session per request"; applied to a thread whose work never
    ends it opened a session for every batch (a backend forked and authenticated, its prepared
    statements lost), so here a sound session is kept instead. A positive CONN_MAX_AGE still recycles."""
    if (connection.connection is not None and not connection.settings_dict["CONN_MAX_AGE"]
            and not connection.settings_dict.get("OPTIONS", {}).get("pool")):
        connection.close_at = None
    connection.close_if_unusable_or_obsolete()
