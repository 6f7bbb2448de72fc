"""Inbound WhatsApp: webhook bodies received, stored, and ingested exactly once.

A body is verified and stored (`webhook_receive_many`, a batch at a time) before anything
is parsed; processing (`webhook_events_process`, a drain's batch at a time) runs in a Celery
task after commit and
may run any number of times: one row per wamid comes from the database's
unique constraint, and statuses only move forward (see chats/outbound.py).
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from chats.audit import audit_entry, audit_save
from chats.events import publish_all_on_commit
from chats.models import Account, AuditEvent, Conversation, Message, PhoneNumber, Thread, WebhookEvent
from chats.payloads import message_payload
from chats.phones import normalize_e164
from chats.sql import among, bulk_insert, for_update, is_postgresql, load_models, model_columns
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
            events = bulk_insert(WebhookEvent, [WebhookEvent(body=deliveries[i].body) for i in genuine])
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


@dataclass
class ProcessOutcome:
    """What became of one stored body: done, given up (`given_up` says why) or failed (`error`)."""

    given_up: str = ""
    error: str = ""


def webhook_events_process(*, events: list[WebhookEvent]) -> dict[int, ProcessOutcome]:
    """Ingest every message, status and template update of a drain's stored bodies. Idempotent.

    Called by the drain (chats/webhook_queue.py), which counts attempts and marks each event
    processed, given up (a signed body that is not JSON will never become JSON) or failed.
    The HCP messages of all bodies are ingested together (`inbound_messages_ingest`); if that
    fails, each message alone, so one bad item holds back only its own body.
    """
    from chats.outbound import status_apply
    from templates_app.services import template_status_apply

    outcomes, parsed = {}, {}
    for event in events:
        try:
            parsed[event.pk] = parse_body(bytes(event.body))
        except PayloadError as exc:
            outcomes[event.pk] = ProcessOutcome(given_up=str(exc))
    together = False
    try:
        inbound_messages_ingest(incoming=[m for body in parsed.values() for m in body.messages])
        together = True
    except Exception:  # noqa: BLE001 - retried one by one below, where each failure is recorded
        logger.exception("%s stored bodies could not be ingested together; one message at a time", len(parsed))
    for event_id, body in parsed.items():
        messages = [] if together else [(m, lambda m: inbound_messages_ingest(incoming=[m])) for m in body.messages]
        failures = []
        for item, handler in (
            messages
            + [(s, lambda s: status_apply(update=s)) for s in body.statuses]
            + [(t, lambda t: template_status_apply(update=t)) for t in body.template_updates]
        ):
            try:
                handler(item)
            except Exception as exc:  # one bad item must not stop the rest of the batch
                logger.exception("webhook event %s: could not process %r", event_id, item)
                failures.append(f"{type(item).__name__} {getattr(item, 'wamid', getattr(item, 'name', ''))}: {exc!r}")
        outcomes[event_id] = ProcessOutcome(error="\n".join(failures))
    return outcomes


def inbound_messages_ingest(*, incoming: list[InboundMessage]) -> list[tuple[Message, bool]]:
    """Store HCP messages once per wamid, each routed to a rep's thread or kept as unrouted.

    Returns (message, created) for each, in order. One transaction for all: every lookup
    (business numbers, HCPs, copies already stored, conversations, assignees, threads) is
    one query for the whole list, and the messages and their audit rows are one INSERT each,
    so a drain's batch costs far less than its messages one by one (docs/performance.md).
    Messages are routed in order: one that rolls a window decides the owner the next sees.
    Side effects (audit rows, window roll, live events) happen only for copies whose INSERT
    won, so replays and concurrent copies change nothing. If a concurrent copy of one of
    them commits first, the INSERT fails and each message is ingested again on its own,
    where that copy is found stored.
    """
    if not incoming:
        return []
    try:
        with transaction.atomic():
            return _ingest(incoming)
    except IntegrityError:
        if len(incoming) == 1:
            with transaction.atomic():
                return _ingest(incoming)
        return [inbound_messages_ingest(incoming=[m])[0] for m in incoming]


@dataclass
class _Plan:
    """One new message on its way in: its row, and what it does once stored."""

    incoming: InboundMessage
    message: Message
    rep_id: int | None = None
    rule: str = ""
    unrouted: str = ""  # no business number or no HCP: stored and audited only
    window: dict | None = None  # the window it opened or rolled: the audit row's kind and details


def _ingest(incoming: list[InboundMessage]) -> list[tuple[Message, bool]]:
    numbers, assignees = _numbers_with_assignees({m.phone_number_id for m in incoming})
    senders = {m.wa_from: _e164_or_none(m.wa_from) for m in incoming}
    accounts = _accounts_by_number({n for n in senders.values() if n})
    seen = _stored_copies({m.wamid for m in incoming})
    routable = [(numbers[m.phone_number_id], accounts[senders[m.wa_from]]) for m in incoming
                if m.phone_number_id in numbers and senders[m.wa_from] in accounts]
    conversations = _conversations_locked({(number.pk, account.pk) for number, account in routable})

    results: list[tuple[Message, bool]] = []
    plans: list[_Plan] = []
    for m in incoming:
        if m.wamid in seen:  # stored already, or a second copy in this very list
            results.append((seen[m.wamid], False))
            continue
        number, account = numbers.get(m.phone_number_id), accounts.get(senders[m.wa_from])
        message = Message(direction=Message.Direction.INBOUND, kind=m.kind, body=m.body, wamid=m.wamid,
                          wa_type=m.wa_type, wa_timestamp=m.timestamp, wa_from=m.wa_from,
                          wa_phone_number_id=m.phone_number_id, media=_media_of(m), status=Message.Status.RECEIVED,
                          phone_number=number, account=account)
        plan = _Plan(incoming=m, message=message)
        if number is None or account is None:
            plan.unrouted = (f"no business number with phone_number_id {m.phone_number_id or '(none)'}"
                             if number is None else f"sender {m.wa_from or '(none)'} is no HCP account")
            message.unrouted_reason = plan.unrouted[:200]
        else:
            conversation = conversations[(number.pk, account.pk)]
            plan.rep_id, plan.rule = route_inbound(conversation=conversation,
                                                   assignees=assignees.get(number.pk, set()))
            if plan.rep_id is None:
                message.unrouted_reason = plan.rule
            elif m.opens_window and m.timestamp:
                plan.window = _roll_window(conversation=conversation, rep_id=plan.rep_id, at=m.timestamp)
        seen[m.wamid] = message
        results.append((message, True))
        plans.append(plan)

    threads = _threads_for({(p.rep_id, p.message.account_id, p.message.phone_number_id) for p in plans if p.rep_id})
    for plan in plans:
        if plan.rep_id is not None:
            thread = threads[(plan.rep_id, plan.message.account_id, plan.message.phone_number_id)]
            thread.account, thread.phone_number = plan.message.account, plan.message.phone_number  # no lazy loads
            plan.message.thread = thread
            plan.message.reply_to = _reply_target(thread, plan.incoming.context_wamid)
    bulk_insert(Message, [plan.message for plan in plans])
    _after_insert(plans, conversations)
    return results


def _after_insert(plans: list[_Plan], conversations: dict[tuple[int, int], Conversation]) -> None:
    """The stored messages' consent keywords, audit rows, windows, thread activity and live events."""
    from chats.windows import state_events_of

    trail, rolled, activity = [], {}, {}
    for plan in plans:
        message, incoming = plan.message, plan.incoming
        consent_apply_keyword(message=message)  # an HCP's STOP counts whatever number it reached
        if plan.unrouted:
            trail.append(audit_entry(kind=AuditEvent.Kind.MESSAGE_RECEIVED, message=message, wamid=incoming.wamid,
                                     unrouted=plan.unrouted))
            continue
        thread = message.thread
        trail += [
            audit_entry(kind=AuditEvent.Kind.MESSAGE_RECEIVED, thread=thread, account=message.account,
                        phone_number=message.phone_number, message=message, wamid=incoming.wamid,
                        wa_type=incoming.wa_type),
            audit_entry(kind=AuditEvent.Kind.ROUTED, actor=None, thread=thread, account=message.account,
                        phone_number=message.phone_number, message=message,
                        rule=plan.rule if plan.rep_id else "unrouted", user_id=plan.rep_id),
        ]
        if plan.rep_id is None:
            continue
        if plan.window:
            trail.append(audit_entry(thread=thread, message=message, **plan.window))
        if incoming.opens_window and incoming.timestamp:
            conversation = conversations[(message.phone_number_id, message.account_id)]
            rolled[conversation.pk] = conversation
        at = incoming.timestamp or timezone.now()
        activity[thread.pk] = max(at, activity.get(thread.pk, at))
    audit_save(trail)  # every audit row of the batch in one INSERT
    _conversations_save_rolled(list(rolled.values()))
    _threads_touch(activity)
    # The window, its owner and the other reps' lock changed: every thread on it hears so.
    # Then each message; all of them delivered together after commit.
    publish_all_on_commit(
        state_events_of(conversations=list(rolled.values()), now=timezone.now())
        + [(plan.rep_id, "message.created", message_payload(plan.message)) for plan in plans if plan.rep_id])


def conversation_lock(*, phone_number: PhoneNumber, account: Account) -> Conversation:
    """The (number, HCP) Conversation row, created if needed and locked for this transaction."""
    conversation, _ = Conversation.objects.select_for_update().get_or_create(phone_number=phone_number,
                                                                            account=account)
    return conversation


def _numbers_with_assignees(phone_number_ids: set[str]) -> tuple[dict[str, PhoneNumber], dict[int, set[int]]]:
    """The business numbers by Meta's phone_number_id, and each one's assigned reps, in one statement."""
    if not phone_number_ids:
        return {}, {}
    ids, params = among(phone_number_ids)
    numbers, assignees = {}, {}
    for number in load_models(
            PhoneNumber, f"SELECT {model_columns(PhoneNumber, 'n')}, a.user_id FROM chats_phonenumber n"
            f" LEFT JOIN chats_phoneassignment a ON a.phone_number_id = n.id WHERE n.phone_number_id {ids}",
            params, extra=("assignee_id",)):
        numbers.setdefault(number.phone_number_id, number)
        if number.assignee_id is not None:
            assignees.setdefault(number.pk, set()).add(number.assignee_id)
    return numbers, assignees


def _accounts_by_number(whatsapp_numbers: set[str]) -> dict[str, Account]:
    if not whatsapp_numbers:
        return {}
    numbers, params = among(whatsapp_numbers)
    return {a.whatsapp_number: a for a in load_models(
        Account, f"SELECT {model_columns(Account, 'a')} FROM chats_account a WHERE a.whatsapp_number {numbers}",
        params)}


def _stored_copies(wamids: set[str]) -> dict[str, Message]:
    if not wamids:
        return {}
    ids, params = among(wamids)
    return {m.wamid: m for m in load_models(
        Message, f"SELECT {model_columns(Message, 'm')} FROM chats_message m WHERE m.wamid {ids}", params)}


def _conversations_locked(pairs: set[tuple[int, int]]) -> dict[tuple[int, int], Conversation]:
    """`conversation_lock` for several (number id, HCP id) pairs, in three statements at most:
    the existing rows locked in id order (so two drains never wait on each other in a cycle),
    the missing ones inserted (a copy inserted meanwhile by another drain is left alone), and
    those locked in turn."""
    if not pairs:
        return {}
    found = _locked_conversations(pairs)
    missing = pairs - found.keys()
    if missing:
        bulk_insert(Conversation, [Conversation(phone_number_id=n, account_id=a) for n, a in sorted(missing)],
                    ignore_conflicts=True)
        found |= _locked_conversations(missing)
    return found


def _locked_conversations(pairs: set[tuple[int, int]]) -> dict[tuple[int, int], Conversation]:
    # Numbers x HCPs, not an OR of pairs: a batch's messages almost always reach one number,
    # where the two are the same rows. With several numbers a few more rows are locked, still
    # in id order.
    numbers, number_params = among({n for n, _ in pairs})
    accounts, account_params = among({a for _, a in pairs})
    rows = load_models(
        Conversation, f"SELECT {model_columns(Conversation, 'c')} FROM chats_conversation c"
        f" WHERE c.phone_number_id {numbers} AND c.account_id {accounts} ORDER BY c.id{for_update()}",
        number_params + account_params)
    return {pair: c for c in rows if (pair := (c.phone_number_id, c.account_id)) in pairs}


def _threads_for(keys: set[tuple[int, int, int]]) -> dict[tuple[int, int, int], Thread]:
    """The (rep, HCP, number) threads, read in one query; the missing ones inserted together and read."""
    if not keys:
        return {}
    found = _threads_matching(keys)
    missing = keys - found.keys()
    if missing:
        bulk_insert(Thread, [Thread(user_id=u, account_id=a, phone_number_id=n) for u, a, n in sorted(missing)],
                    ignore_conflicts=True)
        found |= _threads_matching(missing)
    return found


def _threads_matching(keys: set[tuple[int, int, int]]) -> dict[tuple[int, int, int], Thread]:
    users, user_params = among({u for u, _, _ in keys})
    accounts, account_params = among({a for _, a, _ in keys})
    numbers, number_params = among({n for _, _, n in keys})
    rows = load_models(  # a superset: kept are the keys
        Thread, f"SELECT {model_columns(Thread, 't')} FROM chats_thread t WHERE t.user_id {users}"
        f" AND t.account_id {accounts} AND t.phone_number_id {numbers}",
        user_params + account_params + number_params)
    return {key: t for t in rows if (key := (t.user_id, t.account_id, t.phone_number_id)) in keys}


def _conversations_save_rolled(conversations: list[Conversation]) -> None:
    """Write the fields `_roll_window` changed (ROLLED_FIELDS) of these locked rows: one UPDATE on
    PostgreSQL whatever their number, one per row elsewhere."""
    if not conversations:
        return
    if not is_postgresql():
        for conversation in conversations:
            conversation.save(update_fields=ROLLED_FIELDS)
        return
    now = timezone.now()
    for conversation in conversations:
        conversation.updated_at = now  # as save() would (auto_now)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE chats_conversation AS c SET last_inbound_at = v.last_inbound_at,"
            " window_expires_at = v.window_expires_at, owner_id = v.owner_id, expiry_warned_at = v.expiry_warned_at,"
            " expiry_announced_at = v.expiry_announced_at, ended_at = v.ended_at, ended_by_id = v.ended_by_id,"
            " updated_at = %s"
            " FROM unnest(%s::bigint[], %s::timestamptz[], %s::timestamptz[], %s::bigint[], %s::timestamptz[],"
            " %s::timestamptz[], %s::timestamptz[], %s::bigint[])"
            " AS v(id, last_inbound_at, window_expires_at, owner_id, expiry_warned_at, expiry_announced_at, ended_at,"
            " ended_by_id) WHERE c.id = v.id",
            [now] + [[getattr(c, name) for c in conversations] for name in (
                "pk", "last_inbound_at", "window_expires_at", "owner_id", "expiry_warned_at", "expiry_announced_at",
                "ended_at", "ended_by_id")])


def _threads_touch(activity: dict[int, datetime]) -> None:
    """Move each thread's `last_activity_at` to its time in `activity`, only ever forward: a late
    copy of an older message leaves a newer activity alone."""
    if not activity:
        return
    if not is_postgresql():
        Thread.objects.filter(pk__in=activity).update(last_activity_at=Case(
            *[When(pk=pk, then=Greatest(Coalesce(F("last_activity_at"), Value(at)), Value(at)))
              for pk, at in activity.items()]))
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE chats_thread AS t SET last_activity_at = GREATEST(COALESCE(t.last_activity_at, v.at), v.at)"
            " FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(id, at) WHERE t.id = v.id",
            [list(activity), list(activity.values())])


def route_inbound(*, conversation: Conversation, assignees: set[int]) -> tuple[int | None, str]:
    """Who gets the HCP's message (DESIGN 3.8): (user id, rule) or (None, why not).

    `assignees` are the reps assigned to the number now: only they qualify, so an
    unassigned rep's claim lapses.
    """
    if conversation.last_template_by_id in assignees:
        return conversation.last_template_by_id, "latest_template_sender"
    if conversation.owner_id in assignees:
        return conversation.owner_id, "window_owner"
    if len(assignees) == 1:
        return next(iter(assignees)), "only_assignee"
    if not assignees:
        return None, "no rep is assigned to this business number"
    return None, "shared number and no rep has sent this HCP a template or owns the window"


ROLLED_FIELDS = ["last_inbound_at", "window_expires_at", "owner", "expiry_warned_at", "expiry_announced_at",
                 "ended_at", "ended_by", "updated_at"]


def _roll_window(*, conversation: Conversation, rep_id: int, at) -> dict | None:
    """Open or roll the 24-hour window from the HCP message's WhatsApp timestamp, in memory
    (the caller saves ROLLED_FIELDS); returns the audit row's kind and details.

    A late copy of an older message (Meta retries for days) never moves the window back.
    """
    if conversation.last_inbound_at and at < conversation.last_inbound_at:
        return None
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
    return dict(
        kind=AuditEvent.Kind.WINDOW_ROLLED if was_open else AuditEvent.Kind.WINDOW_OPENED,
        owner_id=rep_id,
        last_inbound_at=at.isoformat(),
        expires_at=conversation.window_expires_at.isoformat(),
    )


def _e164_or_none(wa_from: str) -> str | None:
    try:
        return normalize_e164(wa_from)
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
