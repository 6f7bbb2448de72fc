"""Reactions: an HCP's emoji on a message, applied from the webhook, and a rep's, sent inside the window.

One row per person per message (chats/models/reactions.py): a new emoji replaces the last, an
empty one removes it, and the row keeps its time (`reacted_at`, WhatsApp's for the HCP's) so a
reaction that arrives late never undoes a newer one. A reaction is never a message of its own.
Every change leaves an audit row and tells the thread's rep (`message.reaction`, after commit).
"""
from __future__ import annotations

import unicodedata
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from chats import jobs
from chats.compliance.audit import audit
from chats.conversations.policy import check_can_send, conversation_lock, thread_state
from chats.conversations.sending import check_assigned, check_on_team, thread_fresh
from chats.errors import DomainError, NotFound, SendRefused
from chats.models import AuditEvent, Message, MessageReaction, Thread
from chats.models.phones import normalize_e164
from chats.realtime.events import publish_on_commit
from chats.realtime.payloads import message_reaction_payload, reactions_of
from chats.whatsapp.updates import ReactionUpdate

Status = MessageReaction.Status


# --- the HCP's, from the webhook -------------------------------------------------------------------

def hcp_reaction_apply(*, update: ReactionUpdate) -> MessageReaction | None:
    """Apply an HCP's reaction (or its removal) to the message it names. Idempotent on replay.

    Not applied, with an audit row that says why (never an error): a message we do not have,
    a reactor who is not that message's HCP, or a reaction older than the one stored.
    """
    try:
        with transaction.atomic():
            return _hcp_reaction_apply(update)
    except IntegrityError:  # a concurrent copy created the row first: apply against it
        with transaction.atomic():
            return _hcp_reaction_apply(update)


def _hcp_reaction_apply(update: ReactionUpdate) -> MessageReaction | None:
    message = (Message.objects.select_related("account", "phone_number", "thread")
               .filter(wamid=update.message_wamid).first()
               if update.message_wamid else None)
    if message is None:
        _not_applied(update, None, "no message with that id in Rapport")
        return None
    if not _sent_by_its_hcp(update, message):
        _not_applied(update, message, "the sender is not this message's HCP")
        return None
    at = update.timestamp or timezone.now()
    reaction = (MessageReaction.objects.select_for_update()
                .filter(message=message, by_account=message.account).first())
    if reaction is not None and reaction.wamid == update.wamid:
        return reaction  # a replay: applied already
    if reaction is not None and reaction.reacted_at > at:
        _not_applied(update, message, "older than the reaction Rapport holds")
        return reaction
    previous = reaction.emoji if reaction else ""
    if reaction is None:
        if not update.emoji:
            _not_applied(update, message, "a removal of a reaction Rapport never had")
            return None
        reaction = MessageReaction(message=message, by_account=message.account)
    reaction.emoji, reaction.reacted_at, reaction.wamid, reaction.status = update.emoji, at, update.wamid, Status.RECEIVED
    reaction.save()
    audit(kind=AuditEvent.Kind.REACTION_RECEIVED, thread=message.thread, message=message, account=message.account,
          wamid=update.wamid, emoji=update.emoji, previous=previous, removed=not update.emoji,
          reacted_at=at.isoformat())
    _announce(message)
    return reaction


def _sent_by_its_hcp(update: ReactionUpdate, message: Message) -> bool:
    """The reaction came from the message's HCP (by number or WhatsApp user id), to its business number."""
    account = message.account
    if account is None or (message.phone_number and update.phone_number_id != message.phone_number.phone_number_id):
        return False
    if update.from_user_id and account.whatsapp_user_id and update.from_user_id == account.whatsapp_user_id:
        return True
    try:
        return bool(update.wa_from) and normalize_e164(update.wa_from) == account.whatsapp_number
    except ValidationError:
        return False


def _not_applied(update: ReactionUpdate, message: Message | None, why: str) -> None:
    """Leave one audit row for a reaction that was not applied (a replay of it leaves none)."""
    kind = AuditEvent.Kind.REACTION_NOT_APPLIED
    if AuditEvent.objects.filter(kind=kind, details__wamid=update.wamid).exists():
        return
    audit(kind=kind, message=message, thread=message.thread if message else None,
          wamid=update.wamid, message_wamid=update.message_wamid, emoji=update.emoji, reason=why,
          wa_from=update.wa_from, from_user_id=update.from_user_id, phone_number_id=update.phone_number_id)


def _announce(message: Message) -> None:
    if message.thread_id is not None:
        publish_on_commit(message.thread.user_id, "message.reaction",
                          message_reaction_payload(message, reactions=reactions_of(message)))


# --- a rep's, sent to WhatsApp ---------------------------------------------------------------------

MAX_EMOJI_LENGTH = 16  # code points: a family or a flag with its modifiers fits; the column holds 32


def check_single_emoji(emoji: str) -> None:
    """Raise `invalid_emoji` unless `emoji` is one emoji (a flag, a keycap, a ZWJ sequence and
    skin tones count as one), as WhatsApp shows one reaction per person."""
    parts = emoji.split("\u200d") if emoji and len(emoji) <= MAX_EMOJI_LENGTH else [""]
    if not all(_one_emoji(part) for part in parts):
        raise DomainError("invalid_emoji", _("Give one emoji, e.g. 👍, or nothing to remove your reaction."))


def _one_emoji(part: str) -> bool:
    # Presentation selectors, skin tones and tag characters (subdivision flags) decorate one base.
    bases = [c for c in part if c not in "\ufe0e\ufe0f" and not 0x1F3FB <= ord(c) <= 0x1F3FF
             and not 0xE0020 <= ord(c) <= 0xE007F]
    if len(bases) == 2 and all(0x1F1E6 <= ord(c) <= 0x1F1FF for c in bases):
        return True  # a flag: two regional indicators
    if len(bases) == 2 and bases[1] == "\u20e3" and bases[0] in "0123456789#*":
        return True  # a keycap
    # Emoji newer than this Python's Unicode tables are unassigned to it; their block still says emoji.
    return len(bases) == 1 and (unicodedata.category(bases[0]) == "So" or 0x1F000 <= ord(bases[0]) <= 0x1FAFF)


def rep_reaction_set(*, thread: Thread, user, message_id: int, emoji: str,
                     now: datetime | None = None) -> tuple[Message, list[dict]]:
    """Set (or with "" remove) the rep's reaction on a message of their thread, and queue its send.

    Inside the 24-hour window only, by the same rule as free text (policy.check_can_send). The
    same emoji again changes nothing. Returns the message and its reactions now. A refusal
    raises (NotFound, DomainError `invalid_emoji`, SendRefused) and leaves an audit row.
    """
    emoji = (emoji or "").strip()
    if emoji:
        check_single_emoji(emoji)
    try:
        return _rep_reaction_set(thread=thread, user=user, message_id=message_id, emoji=emoji,
                                 now=now or timezone.now())
    except SendRefused as refusal:
        audit(kind=AuditEvent.Kind.SEND_REFUSED, actor=user, thread=thread, code=refusal.code, send_kind="reaction",
              message_id=message_id, emoji=emoji)
        raise


@transaction.atomic
def _rep_reaction_set(*, thread, user, message_id, emoji, now) -> tuple[Message, list[dict]]:
    conversation = conversation_lock(phone_number=thread.phone_number, account=thread.account)
    thread = thread_fresh(thread)
    check_on_team(thread=thread)
    message = Message.objects.filter(pk=message_id, thread=thread).first()
    if message is None:
        raise NotFound("not_found", _("No such message in this thread."))
    message.thread = thread
    if not message.wamid:
        raise SendRefused("message_not_sent", _("This message has not reached WhatsApp yet; react once it is sent."))
    check_assigned(thread=thread)
    state = thread_state(thread=thread, now=now, conversation=conversation, shared_history=thread.shared_history)
    check_can_send(state=state, kind="reaction")
    reaction = MessageReaction.objects.select_for_update().filter(message=message, by_user=user).first()
    unchanged = (reaction.emoji == emoji and reaction.status != Status.FAILED) if reaction else not emoji
    if unchanged:
        return message, reactions_of(message)  # a second tap, or a retry of the request
    previous = reaction.emoji if reaction else ""
    reaction = reaction or MessageReaction(message=message, by_user=user)
    reaction.emoji, reaction.reacted_at, reaction.status = emoji, now, Status.QUEUED
    reaction.wamid, reaction.failure_reason = "", ""
    reaction.save()
    audit(kind=AuditEvent.Kind.REACTION_QUEUED, actor=user, thread=thread, message=message, emoji=emoji,
          previous=previous, removed=not emoji)
    reactions = reactions_of(message)
    publish_on_commit(thread.user_id, "message.reaction", message_reaction_payload(message, reactions=reactions))
    transaction.on_commit(lambda: jobs.enqueue(jobs.SEND_REACTION, reaction.pk, emoji), robust=True)
    return message, reactions
