"""HCP messages in: stored once per wamid, routed to a rep's thread by the conversation policy
(chats/conversations/policy.py), or kept as unrouted; never dropped."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from chats import phases
from chats.compliance.audit import audit_entry, audit_save
from chats.inbox.identity import REKEY_TYPES, Directory, Sender, e164_or_none, identity_learn, identity_rekey
from chats.conversations.announcements import state_events_of
from chats.conversations.policy import roll_window, route_inbound
from chats.ingress import sql
from chats.media.fetch import inbound_media_fetch_enqueue
from chats.models import AuditEvent, Conversation, Message, Thread
from chats.models.sql import bulk_insert
from chats.notifications.notices import NEW_MESSAGES, notify_on_commit
from chats.realtime.events import publish_all_on_commit
from chats.realtime.payloads import message_payload
from chats.safety.cases import safety_cases_flag
from chats.whatsapp.updates import InboundMessage
from consent.services import consent_apply_keyword

logger = logging.getLogger(__name__)


def inbound_messages_ingest(*, incoming: list[InboundMessage], received: dict[str, datetime] | None = None
                            ) -> list[tuple[Message, bool]]:
    """Store HCP messages once per wamid, each routed to a rep's thread or kept as unrouted.
    `received`: when Rapport received each (by wamid; its webhook's receipt), else now.

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
    received = received or {}
    try:
        with transaction.atomic():
            return _ingest(incoming, received)
    except IntegrityError:
        if len(incoming) == 1:
            with transaction.atomic():
                return _ingest(incoming, received)
        return [inbound_messages_ingest(incoming=[m], received=received)[0] for m in incoming]


@dataclass
class _Plan:
    """One new message on its way in: its row, and what it does once stored."""

    incoming: InboundMessage
    message: Message
    rep_id: int | None = None
    rule: str = ""
    unrouted: str = ""  # no business number or no HCP: stored and audited only
    window: dict | None = None  # the window it opened or rolled: the audit row's kind and details


def _ingest(incoming: list[InboundMessage], received: dict[str, datetime]) -> list[tuple[Message, bool]]:
    phases.begin("look-ups and routing")
    numbers, assignees = sql.numbers_with_assignees({m.phone_number_id for m in incoming})
    now = timezone.now()
    senders = {m.wamid: _sender_of(m) for m in incoming}
    directory = _directory_for(incoming, senders)
    seen = sql.stored_copies({m.wamid for m in incoming})
    # Accounts as the batch first finds them; a re-key later in the batch keeps the same account rows.
    first_accounts = {m.wamid: _account_of(m, senders, directory) for m in incoming}
    conversations = sql.conversations_locked({
        (numbers[m.phone_number_id].pk, first_accounts[m.wamid].pk) for m in incoming
        if m.phone_number_id in numbers and first_accounts[m.wamid] is not None})
    identity_trail = []

    results: list[tuple[Message, bool]] = []
    plans: list[_Plan] = []
    for m in incoming:
        if m.wamid in seen:  # stored already, or a second copy in this very list
            results.append((seen[m.wamid], False))
            continue
        number, account = numbers.get(m.phone_number_id), _account_of(m, senders, directory)
        if account is not None and number is not None and (number.pk, account.pk) not in conversations:
            account = None  # named only by an identity this batch re-keyed: kept unrouted, not guessed
        message = Message(direction=Message.Direction.INBOUND, kind=m.kind, body=m.body, wamid=m.wamid,
                          wa_type=m.wa_type, wa_timestamp=m.timestamp, wa_from=m.wa_from,
                          wa_from_user_id=m.wa_user_id, wa_phone_number_id=m.phone_number_id, media=_media_of(m),
                          status=Message.Status.RECEIVED, phone_number=number, account=account)
        plan = _Plan(incoming=m, message=message)
        if account is not None:
            identity_trail += _identity_changes(m, account, senders[m.wamid], directory)
        if number is None or account is None:
            plan.unrouted = (f"no business number with phone_number_id {m.phone_number_id or '(none)'}"
                             if number is None else f"sender {m.wa_from or m.wa_user_id or '(none)'} is no HCP account")
            message.unrouted_reason = plan.unrouted[:200]
        else:
            conversation = conversations[(number.pk, account.pk)]
            plan.rep_id, plan.rule = route_inbound(conversation=conversation,
                                                   assignees=assignees.get(number.pk, set()), team=account.team_ids)
            if plan.rep_id is None:
                message.unrouted_reason = plan.rule
            elif m.opens_window and m.timestamp:
                plan.window = roll_window(conversation=conversation, rep_id=plan.rep_id, at=m.timestamp,
                                          received_at=received.get(m.wamid, now))
        seen[m.wamid] = message
        results.append((message, True))
        plans.append(plan)

    threads = sql.threads_for({(p.rep_id, p.message.account_id, p.message.phone_number_id) for p in plans if p.rep_id})
    for plan in plans:
        if plan.rep_id is not None:
            thread = threads[(plan.rep_id, plan.message.account_id, plan.message.phone_number_id)]
            thread.account, thread.phone_number = plan.message.account, plan.message.phone_number  # no lazy loads
            plan.message.thread = thread
            plan.message.reply_to = _reply_target(thread, plan.incoming.context_wamid)
    phases.end("look-ups and routing")
    with phases.phase("insert messages"):
        bulk_insert(Message, [plan.message for plan in plans])
    with phases.phase("audit rows"):
        audit_save(identity_trail)
    _after_insert(plans, conversations, received)
    return results


def _sender_of(m: InboundMessage) -> Sender:
    return Sender(number=e164_or_none(m.wa_from), user_id=m.wa_user_id, parent_user_id=m.wa_parent_user_id,
                  username=m.wa_username)


def _directory_for(incoming: list[InboundMessage], senders: dict[str, Sender]) -> Directory:
    """Every account the batch names, by any identity it gives (a re-key's new ones too), in one statement."""
    numbers = {s.number for s in senders.values() if s.number}
    user_ids = {s.user_id for s in senders.values() if s.user_id}
    for m in incoming:
        if m.kind == Message.Kind.SYSTEM:
            numbers |= {n for n in [e164_or_none(str(m.media.get("wa_id") or ""))] if n}
            user_ids |= {str(m.media[k]) for k in ("user_id", "previous_user_id") if m.media.get(k)}
    directory = Directory()
    for account in sql.accounts_by_address(numbers=numbers, user_ids=user_ids):
        directory.remember(account)
    return directory


def _account_of(m: InboundMessage, senders: dict[str, Sender], directory: Directory):
    previous = str(m.media.get("previous_user_id") or "") if m.kind == Message.Kind.SYSTEM else ""
    return directory.account_for(senders[m.wamid], previous_user_id=previous)


def _identity_changes(m: InboundMessage, account, sender: Sender, directory: Directory) -> list:
    """A system notice that the HCP changed number or user id re-keys the account; any other message
    teaches the account what it lacks (its user id, its number, a new username)."""
    if m.kind == Message.Kind.SYSTEM:
        if m.media.get("system_type") in REKEY_TYPES:
            return identity_rekey(account=account, system=m.media, directory=directory, wamid=m.wamid)
        return []
    return identity_learn(account=account, sender=sender, directory=directory, wamid=m.wamid)


def _after_insert(plans: list[_Plan], conversations: dict[tuple[int, int], Conversation],
                  received: dict[str, datetime]) -> None:
    """The stored messages' consent keywords, audit rows, windows, thread activity, safety cases and live events."""
    trail, rolled, activity = [], {}, {}
    for plan in plans:
        message, incoming = plan.message, plan.incoming
        with phases.phase("consent keywords"):
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
    with phases.phase("audit rows"):
        audit_save(trail)  # every audit row of the batch in one INSERT
    with phases.phase("windows and threads"):
        sql.conversations_save_rolled(list(rolled.values()))
        sql.threads_touch(activity)
    # Possible adverse events become safety cases now, so `message.created` already carries its case.
    now = timezone.now()
    with phases.phase("safety check"):
        flagged = safety_cases_flag(
            messages=[(plan.message, received.get(plan.incoming.wamid, now)) for plan in plans], now=now)
    # The window, its owner and the other reps' lock changed: every thread on it hears so.
    # Then each message; all of them delivered together after commit.
    with phases.phase("event payloads"):
        events = (state_events_of(conversations=list(rolled.values()), now=now)
                  + [(plan.rep_id, "message.created", message_payload(plan.message)) for plan in plans if plan.rep_id]
                  + flagged)
    with phases.phase("change feed"):
        publish_all_on_commit(events)
    # The files HCPs sent are fetched from Meta after commit, one task for the batch (chats/media/fetch.py);
    # queued after the events above, so a rep hears of the message before of its file.
    inbound_media_fetch_enqueue(message_ids=[plan.message.pk for plan in plans
                                             if plan.message.kind == Message.Kind.INBOUND_MEDIA
                                             and (plan.message.media or {}).get("status") == "pending"])
    # And the reps' devices hear of their new messages, from a task after commit (chats/notifications/).
    notify_on_commit(kind=NEW_MESSAGES, ids=[plan.message.pk for plan in plans
                                             if plan.rep_id and plan.message.kind != Message.Kind.SYSTEM])


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
