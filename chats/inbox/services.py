"""Writes on threads that need no message to be sent: opening a thread, marking it read."""
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from knox.models import AuthToken

from chats.conversations.waiting import lock_wait_note
from chats.errors import DomainError
from chats.inbox.receipts import read_receipt_queue
from chats.models import Account, PhoneNumber, Thread
from chats.safety.cases import safety_cases_seen


def _pick_number(*, user, phone_number_id: int | None) -> PhoneNumber:
    if phone_number_id is not None:
        number = PhoneNumber.objects.filter(pk=phone_number_id, assignments__user=user).first()
        if number is None:
            raise DomainError("phone_number_not_assigned", _("That phone number is not assigned to you."))
        return number
    numbers = list(PhoneNumber.objects.filter(assignments__user=user).order_by("id")[:2])
    if not numbers:
        raise DomainError("no_phone_number", _("You have no WhatsApp number assigned; ask your administrator."))
    if len(numbers) > 1:
        raise DomainError("phone_number_required", _("You have several numbers; say which one to chat from."))
    return numbers[0]


def thread_get_or_create(*, user, account: Account, phone_number_id: int | None = None) -> tuple[Thread, bool]:
    """The user's thread with `account` over one of their numbers, created if new.

    `account` must already be one the user may see. Safe under concurrency: the unique
    (user, account, number) constraint decides, and the loser reads the winner's row.
    """
    number = _pick_number(user=user, phone_number_id=phone_number_id)
    lookup = {"user": user, "account": account, "phone_number": number}
    if thread := Thread.objects.filter(**lookup).first():
        return thread, False
    try:
        with transaction.atomic():
            return Thread.objects.create(**lookup), True
    except IntegrityError:
        return Thread.objects.get(**lookup), False


@transaction.atomic
def thread_mark_read(*, thread: Thread, now: datetime | None = None) -> Thread:
    """Everything in the thread up to `now` counts as read by its rep; the HCP's latest unread
    message is marked read at WhatsApp too (chats/inbox/receipts.py), the thread's safety cases count as
    seen by the rep (chats/safety/cases.py), and a rep locked out by another rep's window waits for it
    to end (chats/conversations/waiting.py)."""
    now = now or timezone.now()
    unread_since, thread.last_read_at = thread.last_read_at, now
    Thread.objects.filter(pk=thread.pk).update(last_read_at=now)
    read_receipt_queue(thread=thread, unread_since=unread_since, now=now)
    safety_cases_seen(thread=thread, now=now)
    lock_wait_note(thread=thread, now=now)
    return thread


# --- API tokens ------------------------------------------------------------------


def api_token_issue(*, user) -> tuple[str, AuthToken]:
    """A new API token for `user`: the key (shown this once, never stored: only its SHA-512 digest
    is) and its row, which says when it expires (REST_KNOX TOKEN_TTL)."""
    row, key = AuthToken.objects.create(user=user)
    return key, row


def api_token_revoke(*, token) -> None:
    """Revoke one API token at once (sign-out of that client)."""
    token.delete()
