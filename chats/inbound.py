"""Inbound WhatsApp: webhook bodies received, stored, and ingested exactly once.

A body is verified and stored (`webhook_receive_many`, a batch at a time) before anything
is parsed; processing (`webhook_event_process`) runs in a Celery task after commit and
may run any number of times: one row per wamid comes from the database's
unique constraint, and statuses only move forward (see chats/outbound.py).
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from chats.audit import audit
from chats.events import publish_on_commit
from chats.models import Account, AuditEvent, Conversation, Message, PhoneAssignment, PhoneNumber, Thread, WebhookEvent
from chats.payloads import message_payload
from chats.phones import normalize_e164
from chats.whatsapp import signatures
from chats.whatsapp.payloads import InboundMessage, PayloadError, parse_body
from consent.services import consent_apply_keyword

logger = logging.getLogger(__name__)

WINDOW = timedelta(hours=24)


@dataclass
class ReceiveOutcome:
    status_code: int
    detail: str
    event: WebhookEvent | None = None


@dataclass(frozen=True)
class Delivery:
    """One POSTed webhook: the raw bytes Meta signed and its X-Hub-Signature-256 header."""

    body: bytes
    signature: str | None


def webhook_receive(*, body: bytes, signature: str | None) -> ReceiveOutcome:
    """Verify one POSTed body, store it durably and queue its processing after commit."""
    return webhook_receive_many(deliveries=[Delivery(body, signature)])[0]


def webhook_receive_many(*, deliveries: Sequence[Delivery]) -> list[ReceiveOutcome]:
    """Verify each delivery and store the genuine ones together; one outcome per delivery, in order.

    Missing signature: 401; wrong: 403; nothing is stored for either. The genuine bodies
    are stored with one INSERT in one transaction, and one drain request follows its
    commit. A database error propagates with nothing stored (chats/whatsapp/ack.py answers 503).
    """
    outcomes: list[ReceiveOutcome | None] = [_refusal(delivery) for delivery in deliveries]
    genuine = [i for i, outcome in enumerate(outcomes) if outcome is None]
    if genuine:
        from chats.webhook_queue import drain_request

        with transaction.atomic():
            events = WebhookEvent.objects.bulk_create([WebhookEvent(body=deliveries[i].body) for i in genuine])
            # robust: in eager mode processing runs here, and its failure must not turn Meta's 200 into a 500
            transaction.on_commit(drain_request, robust=True)
        for i, event in zip(genuine, events):
            outcomes[i] = ReceiveOutcome(200, "stored", event)
    return outcomes


def _refusal(delivery: Delivery) -> ReceiveOutcome | None:
    if not delivery.signature:
        return ReceiveOutcome(401, "missing X-Hub-Signature-256")
    if not signatures.is_valid(delivery.body, delivery.signature):
        return ReceiveOutcome(403, "signature does not match")
    return None


class WebhookProcessingError(Exception):
    """Some items of a stored body could not be processed; processing the whole body again is safe."""


def webhook_event_process(*, event: WebhookEvent) -> str:
    """Ingest every message, status and template update of one stored body. Idempotent.

    Called by the drain (chats/webhook_queue.py), which counts attempts and marks the
    event processed. Returns "" when done, or why a body that will never parse (not
    JSON) was given up; raises WebhookProcessingError when some items failed.
    """
    from chats.outbound import status_apply
    from templates_app.services import template_status_apply

    try:
        parsed = parse_body(bytes(event.body))
    except PayloadError as exc:
        return str(exc)  # a signed body that is not JSON will never become JSON
    failures = []
    for item, handler in (
        [(m, lambda m: inbound_message_ingest(incoming=m)) for m in parsed.messages]
        + [(s, lambda s: status_apply(update=s)) for s in parsed.statuses]
        + [(t, lambda t: template_status_apply(update=t)) for t in parsed.template_updates]
    ):
        try:
            handler(item)
        except Exception as exc:  # one bad item must not stop the rest of the batch
            logger.exception("webhook event %s: could not process %r", event.pk, item)
            failures.append(f"{type(item).__name__} {getattr(item, 'wamid', getattr(item, 'name', ''))}: {exc!r}")
    if failures:
        raise WebhookProcessingError("\n".join(failures))
    return ""


def inbound_message_ingest(*, incoming: InboundMessage) -> tuple[Message, bool]:
    """Store one HCP message once per wamid, routed to a rep's thread or kept as unrouted.

    Side effects (audit rows, window roll, live event) happen only for the copy
    whose INSERT won, so replays and concurrent copies change nothing.
    """
    number = PhoneNumber.objects.filter(phone_number_id=incoming.phone_number_id).first()
    account = _account_for(incoming.wa_from)
    fields = dict(
        direction=Message.Direction.INBOUND,
        kind=incoming.kind,
        body=incoming.body,
        wamid=incoming.wamid,
        wa_type=incoming.wa_type,
        wa_timestamp=incoming.timestamp,
        wa_from=incoming.wa_from,
        wa_phone_number_id=incoming.phone_number_id,
        media=_media_of(incoming),
        status=Message.Status.RECEIVED,
        phone_number=number,
        account=account,
    )
    with transaction.atomic():
        if number is None or account is None:
            reason = (
                f"no business number with phone_number_id {incoming.phone_number_id or '(none)'}"
                if number is None
                else f"sender {incoming.wa_from or '(none)'} is no HCP account"
            )
            message, created = _insert_once(fields | {"unrouted_reason": reason[:200]})
            if created:
                audit(kind=AuditEvent.Kind.MESSAGE_RECEIVED, message=message, wamid=incoming.wamid, unrouted=reason)
                consent_apply_keyword(message=message)  # an HCP's STOP counts whatever number it reached
            return message, created

        conversation = conversation_lock(phone_number=number, account=account)
        rep_id, rule = route_inbound(conversation=conversation, phone_number=number)
        thread = None
        if rep_id is not None:
            thread, _ = Thread.objects.get_or_create(user_id=rep_id, account=account, phone_number=number)
            thread.account, thread.phone_number = account, number  # known already: no lazy loads later
            fields["reply_to"] = _reply_target(thread, incoming.context_wamid)
        else:
            fields["unrouted_reason"] = rule
        message, created = _insert_once(fields | {"thread": thread})
        if not created:
            return message, False
        consent_apply_keyword(message=message)

        audit(kind=AuditEvent.Kind.MESSAGE_RECEIVED, thread=thread, account=account, phone_number=number,
              message=message, wamid=incoming.wamid, wa_type=incoming.wa_type)
        audit(kind=AuditEvent.Kind.ROUTED, actor=None, thread=thread, account=account, phone_number=number,
              message=message, rule=rule if rep_id else "unrouted", user_id=rep_id)
        if rep_id is None:
            return message, True
        if incoming.opens_window and incoming.timestamp:
            _roll_window(conversation=conversation, rep_id=rep_id, at=incoming.timestamp, thread=thread,
                         message=message)
            from chats.windows import publish_conversation_states

            # The window, its owner and the other reps' lock changed: every thread on it hears so.
            publish_conversation_states(conversation=conversation, now=timezone.now())
        activity = incoming.timestamp or timezone.now()
        Thread.objects.filter(pk=thread.pk).exclude(last_activity_at__gte=activity).update(last_activity_at=activity)
        publish_on_commit(thread.user_id, "message.created", message_payload(message))
        return message, True


def conversation_lock(*, phone_number: PhoneNumber, account: Account) -> Conversation:
    """The (number, HCP) Conversation row, created if needed and locked for this transaction."""
    conversation, _ = Conversation.objects.select_for_update().get_or_create(phone_number=phone_number,
                                                                            account=account)
    return conversation


def route_inbound(*, conversation: Conversation, phone_number: PhoneNumber) -> tuple[int | None, str]:
    """Who gets the HCP's message (DESIGN 3.8): (user id, rule) or (None, why not).

    Only reps still assigned to the number qualify: an unassigned rep's claim lapses.
    """
    assignees = set(PhoneAssignment.objects.filter(phone_number=phone_number).values_list("user_id", flat=True))
    if conversation.last_template_by_id in assignees:
        return conversation.last_template_by_id, "latest_template_sender"
    if conversation.owner_id in assignees:
        return conversation.owner_id, "window_owner"
    if len(assignees) == 1:
        return next(iter(assignees)), "only_assignee"
    if not assignees:
        return None, "no rep is assigned to this business number"
    return None, "shared number and no rep has sent this HCP a template or owns the window"


def _roll_window(*, conversation: Conversation, rep_id: int, at, thread: Thread, message: Message) -> None:
    """Open or roll the 24-hour window from the HCP message's WhatsApp timestamp.

    A late copy of an older message (Meta retries for days) never moves the window back.
    """
    if conversation.last_inbound_at and at < conversation.last_inbound_at:
        return
    was_open = (
        conversation.window_expires_at is not None
        and conversation.window_expires_at > at
        and not (
            conversation.ended_at
            and conversation.last_inbound_at
            and conversation.ended_at >= conversation.last_inbound_at
        )
    )
    conversation.last_inbound_at = at
    conversation.window_expires_at = at + WINDOW
    conversation.owner_id = rep_id
    conversation.expiry_warned_at = None
    conversation.expiry_announced_at = None
    if conversation.ended_at and at > conversation.ended_at:
        conversation.ended_at = None
        conversation.ended_by = None
    conversation.save()
    audit(
        kind=AuditEvent.Kind.WINDOW_ROLLED if was_open else AuditEvent.Kind.WINDOW_OPENED,
        thread=thread,
        message=message,
        owner_id=rep_id,
        last_inbound_at=at.isoformat(),
        expires_at=conversation.window_expires_at.isoformat(),
    )


def _insert_once(fields: dict) -> tuple[Message, bool]:
    """INSERT, or the row another copy already inserted: the wamid unique constraint decides."""
    try:
        with transaction.atomic():  # a savepoint, so a conflict leaves the outer transaction usable
            return Message.objects.create(**fields), True
    except IntegrityError:
        existing = Message.objects.filter(wamid=fields["wamid"]).first()
        if existing is None:
            raise
        return existing, False


def _account_for(wa_from: str) -> Account | None:
    try:
        return Account.objects.filter(whatsapp_number=normalize_e164(wa_from)).first()
    except ValidationError:
        return None


def _reply_target(thread: Thread, context_wamid: str) -> Message | None:
    if not context_wamid:
        return None
    return Message.objects.filter(thread=thread, wamid=context_wamid).first()


def _media_of(incoming: InboundMessage) -> dict:
    media = dict(incoming.media)
    if incoming.context_wamid:
        media["context_wamid"] = incoming.context_wamid
    if incoming.forwarded:
        media["forwarded"] = True
    if incoming.profile_name:
        media["profile_name"] = incoming.profile_name
    if incoming.errors:
        media["errors"] = [vars(e) for e in incoming.errors]
    return media
