"""The conversation policy: every rule of docs/rules.md about a (number, HCP) conversation, in one place.

Read top to bottom: the 24-hour window (docs/rules.md, "Thread state": `window`), whether it
was ended (docs/rules.md, "Ending"), who gets an HCP's message (docs/rules.md, "Shared
numbers"), the lock that serialises everything on one conversation (docs/rules.md,
"Concurrency design"), the state a thread shows (docs/rules.md, "Thread state"), and whether
a send is allowed now (docs/rules.md, "Sending rules").
Admin, the API, the pages, ingress and sending all ask these functions; none keeps a copy.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from chats.errors import SendRefused
from chats.models import Account, AuditEvent, Conversation, Message, PhoneNumber, Thread
from consent.models import ConsentStatus
from consent.selectors import consent_status, is_opted_in
from templates_app.models import MessageTemplate
from templates_app.selectors import templates_for_thread

# --- the 24-hour window --------------------------------------------------------------------------

WINDOW = timedelta(hours=24)
EXPIRING_WITHIN = timedelta(hours=12)


class WindowStatus:
    NONE = "none"
    AWAITING_REPLY = "awaiting_reply"
    OPEN = "open"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    ENDED = "ended"
    OPEN_STATES = (OPEN, EXPIRING)
    ALL = (NONE, AWAITING_REPLY, OPEN, EXPIRING, EXPIRED, ENDED)


@dataclass
class Window:
    status: str = WindowStatus.NONE
    expires_at: datetime | None = None


def window_expiry(last_inbound_at: datetime) -> datetime:
    """When the window an HCP message opened expires: 24 hours after its WhatsApp timestamp
    (not when the webhook arrived: Meta retries for days). The one definition of the expiry;
    `Conversation.window_expires_at` stores it for queries."""
    return last_inbound_at + WINDOW


def answered_at(conversation: Conversation) -> datetime | None:
    """When the HCP's last message came, in the order Rapport received things: what "did the HCP
    answer after our template, after the End" compares (WhatsApp's whole-second stamps, from
    another clock, cannot). Rows from before it was recorded fall back to WhatsApp's time."""
    return conversation.last_inbound_received_at or conversation.last_inbound_at


def ended_since_inbound(conversation: Conversation) -> bool:
    """The conversation was ended after the HCP's last message (by `answered_at`): the window is
    closed for us."""
    ended, answered = conversation.ended_at, answered_at(conversation)
    return ended is not None and (answered is None or ended >= answered)


def not_ended_since_inbound_q() -> Q:
    """`not ended_since_inbound(...)` as a query condition on Conversation rows."""
    return Q(ended_at__isnull=True) | Q(ended_at__lt=Coalesce(F("last_inbound_received_at"), F("last_inbound_at")))


def window_open_q(*, now: datetime) -> Q:
    """Conversations whose window is open at `now` (open or expiring), as a query condition."""
    return Q(window_expires_at__gt=now) & not_ended_since_inbound_q()


def window_of(*, conversation: Conversation | None, now: datetime) -> Window:
    """The 24-hour window as Meta sees it for this (number, HCP), from stored timestamps.

    Precedence: an open window (last HCP message under 24 h ago and not ended since)
    wins; then a template sent after the last HCP message and after any ending
    (awaiting_reply); then ended; then expired; else none.
    """
    if conversation is None:
        return Window()
    inbound, ended, template = conversation.last_inbound_at, conversation.ended_at, conversation.last_template_at
    answered = answered_at(conversation)
    closed_by_ending = ended_since_inbound(conversation)
    if inbound is not None and not closed_by_ending:
        expires = window_expiry(inbound)
        if now < expires:
            status = WindowStatus.EXPIRING if expires - now <= EXPIRING_WITHIN else WindowStatus.OPEN
            return Window(status, expires)
    if template is not None and (answered is None or template > answered) and (ended is None or template > ended):
        return Window(WindowStatus.AWAITING_REPLY, None)
    if closed_by_ending:
        return Window(WindowStatus.ENDED, None)
    if inbound is not None:
        return Window(WindowStatus.EXPIRED, window_expiry(inbound))
    return Window()


ROLLED_FIELDS = ["last_inbound_at", "last_inbound_received_at", "window_expires_at", "owner", "expiry_warned_at",
                 "expiry_announced_at", "ended_at", "ended_by", "updated_at"]


def roll_window(*, conversation: Conversation, rep_id: int, at: datetime, received_at: datetime) -> dict | None:
    """Open or roll the 24-hour window from an HCP message's WhatsApp timestamp `at`, received
    by Rapport at `received_at`, in memory (the caller saves ROLLED_FIELDS); returns the audit
    row's kind and details, or None when it opens nothing.

    A late copy of an older message (Meta retries for days) never moves the window back. After
    an End, only a message written in the End's second or later reopens it (received after it,
    as every message processed now is): one written before, arriving late, opens nothing.
    """
    if conversation.last_inbound_at and at < conversation.last_inbound_at:
        return None
    ended, closed_by_ending = conversation.ended_at, ended_since_inbound(conversation)
    if closed_by_ending and at < ended.replace(microsecond=0):
        return None  # written before the End (WhatsApp's whole second), delivered late
    was_open = (
        conversation.window_expires_at is not None
        and conversation.window_expires_at > at
        and not (conversation.last_inbound_at and closed_by_ending)
    )
    conversation.last_inbound_at = at
    conversation.last_inbound_received_at = received_at
    conversation.window_expires_at = window_expiry(at)
    conversation.owner_id = rep_id
    conversation.expiry_warned_at = None
    conversation.expiry_announced_at = None
    if ended is not None and received_at > ended:
        conversation.ended_at = None
        conversation.ended_by = None
    return dict(
        kind=AuditEvent.Kind.WINDOW_ROLLED if was_open else AuditEvent.Kind.WINDOW_OPENED,
        owner_id=rep_id,
        last_inbound_at=at.isoformat(),
        expires_at=conversation.window_expires_at.isoformat(),
    )


# --- routing an HCP's message ------------------------------------------------------------------------


def route_inbound(*, conversation: Conversation, assignees: set[int], team: set[int]) -> tuple[int | None, str]:
    """Who gets the HCP's message: (user id, rule) or (None, why not).

    The most recent Meta template's sender, else the window's owner, else the number's
    only assignee. Only reps assigned to the number now (`assignees`) who may see the HCP
    (its account `team`) qualify, so a claim lapses with the assignment or the team place,
    and no message reaches a rep who may not see the HCP.
    """
    if assignees and not assignees & team:
        return None, "no rep assigned to this business number may see this HCP"
    assignees = assignees & team
    if conversation.last_template_by_id in assignees:
        return conversation.last_template_by_id, "latest_template_sender"
    if conversation.owner_id in assignees:
        return conversation.owner_id, "window_owner"
    if len(assignees) == 1:
        return next(iter(assignees)), "only_assignee"
    if not assignees:
        return None, "no rep is assigned to this business number"
    return None, "shared number and no rep has sent this HCP a template or owns the window"


# --- the lock ------------------------------------------------------------------------------------------


def conversation_lock(*, phone_number: PhoneNumber, account: Account) -> Conversation:
    """The (number, HCP) Conversation row, created if needed and locked for this transaction:
    two reps sending at once, or an HCP answer arriving meanwhile, are serialised on it."""
    conversation, _created = Conversation.objects.select_for_update().get_or_create(phone_number=phone_number,
                                                                                     account=account)
    return conversation


# --- what a thread shows -------------------------------------------------------------------------------


def shared_history_exists() -> Exists:
    """For a Thread row: another rep's thread with this HCP on this number holds messages."""
    return Exists(Message.objects.filter(
        thread__phone_number_id=OuterRef("phone_number_id"), thread__account_id=OuterRef("account_id"),
    ).exclude(thread__user_id=OuterRef("user_id")))


@dataclass
class ThreadState:
    consent: str = ConsentStatus.NOT_CAPTURED
    window: Window = field(default_factory=Window)
    locked_by_other: bool = False
    pending_template_by_other: bool = False
    shared_history: bool = False
    can_send_text: bool = False
    can_send_template: bool = False
    owner_id: int | None = None


def conversation_for(*, phone_number_id: int, account_id: int) -> Conversation | None:
    return Conversation.objects.filter(phone_number_id=phone_number_id, account_id=account_id).first()


def locked_out(*, window: Window, owner_id: int | None, user_id: int) -> bool:
    """Another rep holds the open window: `user_id` may send nothing until it ends or expires."""
    return window.status in WindowStatus.OPEN_STATES and owner_id is not None and owner_id != user_id


def thread_state(*, thread: Thread, now: datetime | None = None, conversation=...,
                 shared_history: bool | None = None, consent: str | None = None) -> ThreadState:
    """Everything the composer and the banners need, computed at read time.

    `conversation` may be passed when the caller already loaded it (None = there is none),
    `shared_history` when the caller knows whether another rep's thread with this HCP on
    this number holds messages, `consent` when it read the HCP's consent status.
    """
    now = now or timezone.now()
    if conversation is ...:
        conversation = conversation_for(phone_number_id=thread.phone_number_id, account_id=thread.account_id)
    window = window_of(conversation=conversation, now=now)
    owner_id = conversation.owner_id if conversation else None
    locked = locked_out(window=window, owner_id=owner_id, user_id=thread.user_id)
    # Another rep's Meta template that the HCP has not answered yet: the yellow banner.
    pending = bool(
        conversation
        and conversation.last_template_at
        and conversation.last_template_by_id not in (None, thread.user_id)
        and (answered_at(conversation) is None or conversation.last_template_at > answered_at(conversation))
    )
    if shared_history is None:
        shared_history = Thread.objects.filter(pk=thread.pk).filter(shared_history_exists()).exists()
    if consent is None:
        consent = consent_status(account=thread.account)
    opted_in = is_opted_in(consent)
    return ThreadState(
        consent=consent,
        window=window,
        locked_by_other=locked,
        pending_template_by_other=pending,
        shared_history=shared_history,
        can_send_text=opted_in and not locked and window.status in WindowStatus.OPEN_STATES,
        can_send_template=opted_in and not locked,
        owner_id=owner_id,
    )


def has_open_window(state: ThreadState) -> bool:
    return state.window.status in WindowStatus.OPEN_STATES


# --- may this be sent now? -----------------------------------------------------------------------------


def check_can_send(*, state: ThreadState, kind: str, template: MessageTemplate | None = None) -> None:
    """Raise SendRefused with the rule's code when this send is not allowed now."""
    if state.consent == ConsentStatus.OPTED_OUT:
        raise SendRefused("opted_out", _("The HCP opted out of WhatsApp messages; nothing can be sent."))
    if not is_opted_in(state.consent):
        raise SendRefused("consent_required", _("Capture the HCP's consent before sending anything."))
    if state.locked_by_other:
        raise SendRefused(
            "conversation_locked",
            _("Another rep on this number has an open conversation with the HCP; wait until it ends or expires."),
        )
    # Free text, media links and reactions are session messages: Meta takes them inside the window only.
    needs_window = kind in ("text", "media", "reaction") or (template is not None and template.kind == MessageTemplate.Kind.TEXT_ONLY)
    if template is not None and template.kind == MessageTemplate.Kind.META and not template.is_sendable_outside_window:
        raise SendRefused(
            "template_not_approved",
            _("The template “%(name)s” is %(status)s at Meta; only APPROVED ones can be sent.") % {
                "name": template.name, "status": template.meta_status or _("not approved")},
        )
    if needs_window and not has_open_window(state):
        raise SendRefused(
            "window_closed",
            _("No open 24-hour window with this HCP: send an approved Meta template and wait for an answer."),
        )


def templates_to_offer(*, thread: Thread, state: ThreadState, category: str | None = None) -> list[MessageTemplate]:
    """The templates this thread may send now: none while another rep holds the window;
    approved Meta templates, and Text Only ones inside an open window."""
    if state.locked_by_other:
        return []
    return templates_for_thread(waba=thread.phone_number.waba, language=thread.account.language,
                                window_open=has_open_window(state), category=category)
