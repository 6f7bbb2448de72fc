"""Read receipts and typing indicators to Meta: the `status: read` calls for an HCP's message.

An inbound message's `read_at` says when Rapport marked it read at WhatsApp (the HCP's blue
ticks). It is claimed by one conditional UPDATE before the call is queued, so two tabs, a
reload or a replayed request never send the same receipt twice, and released again when Meta
never took the receipt, so the column stays true. A typing indicator marks the message read at
Meta too, so its success sets `read_at` where still empty. Which message, when, is decided in
chats/inbox/receipts.py; the call itself, its retries and its logging live here.
"""
from __future__ import annotations

import logging
import random
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from chats.models import Message
from chats.whatsapp import client, errors, ratelimit
from chats.whatsapp.backends import get_backend

logger = logging.getLogger(__name__)

READ_RECEIPT_MAX_ATTEMPTS = 3  # a receipt meeting transient errors is tried this many times, then dropped


def inbound_read_claim(*, message_id: int, at: datetime) -> bool:
    """Mark the HCP's message read at `at` unless it already is: True for the one caller that did."""
    return bool(Message.objects.filter(pk=message_id, direction=Message.Direction.INBOUND, read_at__isnull=True)
                .update(read_at=at))


def inbound_read_release(*, message_id: int) -> None:
    """Meta never took the receipt: the message is not read at WhatsApp after all."""
    Message.objects.filter(pk=message_id, direction=Message.Direction.INBOUND).update(read_at=None)


def read_status_deliver(*, message_id: int, typing_indicator: bool, attempt: int) -> float | None:
    """Send the read status (with the typing indicator, when asked) for one HCP message.

    Returns the seconds after which to try again (a transient error on a receipt, attempts
    left), else None. Never raises for Meta's answers: a refusal is logged and dropped, since
    nothing the rep does depends on it. A typing indicator is never retried: by then it is stale.
    """
    message = Message.objects.select_related("phone_number__waba").filter(pk=message_id).first()
    if message is None or not message.wamid or message.phone_number is None:
        return None
    what = "typing indicator" if typing_indicator else "read receipt"
    try:
        get_backend().mark_read(
            phone_number_id=message.phone_number.phone_number_id,
            access_token=message.phone_number.waba.effective_access_token,
            wamid=message.wamid, typing_indicator=typing_indicator,
        )
        if typing_indicator:  # Meta marked the message read as well
            inbound_read_claim(message_id=message_id, at=timezone.now())
        return None
    except ratelimit.RateLimited as exc:
        transient, reason = True, exc.reason
    except (client.GraphUnreachable, client.GraphOutcomeUnknown) as exc:
        transient, reason = True, f"could not reach Meta: {exc}"  # sending a read status twice is harmless
    except client.GraphError as exc:
        transient = errors.error_class(exc.code, exc.http_status).action is errors.Action.RETRY
        reason = f"({exc.code}) {exc.title} {exc.details}".strip()
    if transient and not typing_indicator and attempt < READ_RECEIPT_MAX_ATTEMPTS:
        logger.info("%s for message %s: %s; trying again", what, message_id, reason)
        base = settings.WHATSAPP_RETRY_BASE_SECONDS
        return base * 2 ** (attempt - 1) + random.uniform(0, base / 2)
    logger.warning("%s for message %s not sent after %s attempt(s): %s", what, message_id, attempt, reason)
    if not typing_indicator:
        inbound_read_release(message_id=message_id)
    return None
