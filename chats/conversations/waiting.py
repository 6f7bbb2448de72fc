"""Reps waiting behind another rep's window on a shared number, and telling them when it ends
(docs/webchat.md, "Notifications").

A rep waits when they open (mark read) their thread with an HCP while another rep of the
number holds the HCP's open window: the thread is locked for them. When that window ends
(its owner's End) or expires (the announce-windows beat), each waiting rep's device is told
once, and the wait is over. Opening the thread when it is not locked ends a wait too.
"""
from __future__ import annotations

from datetime import datetime

from chats.conversations.policy import conversation_for, locked_out, window_of
from chats.models import Conversation, Thread
from chats.notifications.notices import LOCK_ENDED, notify_on_commit


def lock_wait_note(*, thread: Thread, now: datetime) -> bool:
    """The rep opened `thread`: they wait for the lock if another rep holds the HCP; returns whether they do."""
    conversation = conversation_for(phone_number_id=thread.phone_number_id, account_id=thread.account_id)
    owner_id = conversation.owner_id if conversation else None
    locked = locked_out(window=window_of(conversation=conversation, now=now), owner_id=owner_id,
                        user_id=thread.user_id)
    if locked and thread.lock_waiting_since is None:
        thread.lock_waiting_since = now
        Thread.objects.filter(pk=thread.pk, lock_waiting_since__isnull=True).update(lock_waiting_since=now)
    elif not locked and thread.lock_waiting_since is not None:
        thread.lock_waiting_since = None
        Thread.objects.filter(pk=thread.pk).update(lock_waiting_since=None)
    return locked


def lock_waiters_release(*, conversation: Conversation) -> list[int]:
    """The window on this (number, HCP) ended or expired: the reps who waited behind it are told
    after commit, once; returns their threads' ids. Called under the conversation's claim or lock."""
    waiting = (Thread.objects.filter(phone_number_id=conversation.phone_number_id, account_id=conversation.account_id,
                                     lock_waiting_since__isnull=False)
               .exclude(user_id=conversation.owner_id))
    ids = list(waiting.values_list("pk", flat=True))
    if ids:
        Thread.objects.filter(pk__in=ids).update(lock_waiting_since=None)
        notify_on_commit(kind=LOCK_ENDED, ids=ids)
    return ids
