"""Handing a rep's reaction to WhatsApp, and what Meta later says of it.

A reaction is small and setting the same emoji twice is harmless at WhatsApp, so unlike a
message it needs no hand-off claim: a send whose answer was lost is simply sent again. Each
outcome (the reaction's wamid and `sent`, or `failed` with the reason a rep reads, from the
error table chats/whatsapp/errors.py) leaves an audit row and a `message.reaction` event.
"""
from __future__ import annotations

import logging
import re

from django.conf import settings
from django.db import transaction

from chats.compliance.audit import audit
from chats.delivery.handoff import RetryLater
from chats.models import AuditEvent, MessageReaction
from chats.realtime.events import publish_on_commit
from chats.realtime.payloads import message_reaction_payload, reactions_of
from chats.whatsapp import client, errors, ratelimit
from chats.whatsapp.backends import get_backend
from chats.whatsapp.updates import MetaError, StatusUpdate

logger = logging.getLogger(__name__)

Status = MessageReaction.Status
CALLBACK_PREFIX = "rapport:reaction:"
CALLBACK_RE = re.compile(r"^rapport:reaction:(\d+)$")


def reaction_deliver(*, reaction_id: int, emoji: str, attempt: int = 1) -> None:
    """Send the rep's reaction `emoji` if it is still their choice and still queued; record the outcome.

    Raises RetryLater for rate limits and passing trouble while attempts remain.
    """
    reaction = (MessageReaction.objects.select_related("message__account", "message__phone_number__waba", "by_user")
                .filter(pk=reaction_id).first())
    if reaction is None or reaction.emoji != emoji or reaction.status != Status.QUEUED:
        return  # a newer choice has its own task, or this one is settled
    message = reaction.message
    payload = client.reaction_payload(**message.account.whatsapp_recipient, message_wamid=message.wamid, emoji=emoji,
                                      callback_data=f"{CALLBACK_PREFIX}{reaction.pk}")
    try:
        result = get_backend().send(phone_number_id=message.phone_number.phone_number_id,
                                    access_token=message.phone_number.waba.effective_access_token, payload=payload)
    except ratelimit.RateLimited as exc:
        raise RetryLater(exc.wait, exc.reason) from exc
    except (client.GraphUnreachable, client.GraphOutcomeUnknown) as exc:
        _retry_or_fail(reaction, emoji, attempt, errors.Failure("unreachable", f"could not reach Meta: {exc}"))
    except client.GraphError as exc:
        failure = errors.failure_from_meta(exc.code, exc.title, exc.details)
        if errors.error_class(exc.code, exc.http_status).action is errors.Action.RETRY:
            _retry_or_fail(reaction, emoji, attempt, failure)
        else:
            _record(reaction, emoji, failure=failure)
    else:
        _record(reaction, emoji, wamid=result.wamid)


def _retry_or_fail(reaction: MessageReaction, emoji: str, attempt: int, failure: errors.Failure) -> None:
    if attempt >= settings.WHATSAPP_SEND_MAX_ATTEMPTS:
        failure.failure_reason = f"{failure.failure_reason} (gave up after {attempt} attempts)"
        _record(reaction, emoji, failure=failure)
        return
    raise RetryLater(settings.WHATSAPP_RETRY_BASE_SECONDS * 2 ** (attempt - 1), failure.failure_reason)


def reaction_fail(*, reaction_id: int, emoji: str, reason: str) -> None:
    """Give a queued reaction up (its task ran out of deferrals)."""
    reaction = MessageReaction.objects.select_related("message").filter(pk=reaction_id).first()
    if reaction is not None:
        _record(reaction, emoji, failure=errors.Failure("retries_exhausted", reason))


def _record(reaction: MessageReaction, emoji: str, *, wamid: str = "", failure: errors.Failure | None = None) -> None:
    """The send's outcome on the row, if the rep has not chosen another emoji since; audit row and event."""
    with transaction.atomic():
        changes = ({"status": Status.FAILED, "failure_reason": failure.failure_reason[:255]} if failure
                   else {"status": Status.SENT, "wamid": wamid, "failure_reason": ""})
        if not MessageReaction.objects.filter(pk=reaction.pk, emoji=emoji, status=Status.QUEUED).update(**changes):
            return
        _after_change(reaction, failure=failure, wamid=wamid)


def _after_change(reaction: MessageReaction, *, failure: errors.Failure | None, wamid: str) -> None:
    message = reaction.message
    details = {"emoji": reaction.emoji, "wamid": wamid or reaction.wamid}
    if failure:
        details |= {"failure_code": failure.failure_code, "error_code": failure.error_code,
                    "reason": failure.failure_reason}
    audit(kind=AuditEvent.Kind.REACTION_FAILED if failure else AuditEvent.Kind.REACTION_SENT,
          actor=reaction.by_user, message=message, thread=message.thread, **details)
    if message.thread_id:
        publish_on_commit(message.thread.user_id, "message.reaction",
                          message_reaction_payload(message, reactions=reactions_of(message)))


def reaction_status_apply(*, update: StatusUpdate) -> bool:
    """Meta's later word on a rep's reaction (found by our callback data): only a failure changes it
    (Meta sends a reaction `sent`, never delivered or read). False when it is no reaction of ours."""
    match = CALLBACK_RE.match(update.callback_data or "")
    if not match:
        return False
    if update.status != "failed":
        return True
    meta = update.errors[0] if update.errors else MetaError(None)
    failure = errors.failure_from_meta(meta.code, meta.title, meta.details)
    with transaction.atomic():
        reaction = (MessageReaction.objects.select_related("message__thread", "by_user")
                    .filter(pk=int(match.group(1)), wamid=update.wamid, status=Status.SENT).first())
        if reaction is None:
            return True
        MessageReaction.objects.filter(pk=reaction.pk).update(status=Status.FAILED,
                                                              failure_reason=failure.failure_reason[:255])
        _after_change(reaction, failure=failure, wamid=update.wamid)
    return True
