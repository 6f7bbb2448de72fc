"""Sending: a rep's message, the end of a conversation and a consent capture, each checked under the
conversation's row lock against the policy (chats/conversations/policy.py; docs/rules.md, "Sending rules",
"Ending" and "Consent capture and keywords").

`message_send` is the one way a rep's message is queued; `conversation_end` the
one way a window is ended. Both lock the (number, HCP) Conversation row, so two
reps sending at the same moment, or an HCP answer arriving meanwhile, are
serialised by the database.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from chats.compliance.audit import audit
from chats.conversations.announcements import publish_conversation_states, thread_state_event
from chats.conversations.phrases import ensure_no_restricted_phrases
from chats.conversations.waiting import lock_waiters_release
from chats.conversations.policy import (
    check_can_send, conversation_lock, ended_since_inbound, has_open_window, shared_history_exists, thread_state,
)
from chats.delivery.queue import message_queue_outbound, outbound_message_create
from chats.errors import DomainError, IdempotencyKeyReused, NotFound, RestrictedPhrasesFound, SendRefused
from chats.inbox.access import on_account_team
from chats.models import AuditEvent, Conversation, Message, PhoneAssignment, Thread
from chats.realtime.events import publish_all_on_commit, publish_on_commit
from chats.realtime.payloads import message_payload
from consent.selectors import is_opted_in
from consent.services import consent_capture
from media_links.models import MediaItem
from media_links.services import weblink_create, weblink_url
from templates_app.models import MessageTemplate
from templates_app.rendering import render_template

Kind = Message.Kind
SEND_KINDS = ("text", "template", "media")


# --- sending --------------------------------------------------------------------


def message_send(
    *, thread: Thread, sender, kind: str, client_id: uuid.UUID, text: str = "",
    template: MessageTemplate | None = None, media: MediaItem | None = None, reply_to: Message | None = None,
    now: datetime | None = None,
) -> tuple[Message, bool]:
    """Queue one outbound message, or return the one this client_id already made: (message, created).

    The message comes with its reply_to, template and sender loaded, ready for MessageOutput.

    A refusal raises SendRefused or RestrictedPhrasesFound and leaves an audit row.
    """
    try:
        return _message_send(thread=thread, sender=sender, kind=kind, client_id=client_id, text=text,
                             template=template, media=media, reply_to=reply_to, now=now)
    except IntegrityError:
        # The same client_id raced in from a second request; the first one's row is the answer.
        existing = _sent_before(thread=thread, client_id=client_id)
        if existing is None:
            raise
        _check_same_request(existing, kind=kind, text=text, template=template, media=media, reply_to=reply_to)
        return existing, False
    except (SendRefused, RestrictedPhrasesFound) as refusal:
        kind_of_row = AuditEvent.Kind.RESTRICTED_PHRASES if isinstance(refusal, RestrictedPhrasesFound) else AuditEvent.Kind.SEND_REFUSED
        audit(kind=kind_of_row, actor=sender, thread=thread, code=refusal.code, send_kind=kind,
              template=template.name if template else None, **refusal.extra)
        raise


@transaction.atomic
def _message_send(*, thread, sender, kind, client_id, text, template, media, reply_to, now) -> tuple[Message, bool]:
    now = now or timezone.now()
    conversation = conversation_lock(phone_number=thread.phone_number, account=thread.account)
    # Reload after the lock: the caller's thread may carry a consent read before an opt-out committed,
    # and an earlier request with the same client_id has committed by now.
    thread = thread_fresh(thread, client_id=client_id)
    check_on_team(thread=thread)
    if thread.sent_before_id is not None:
        existing = _sent_before(thread=thread, client_id=client_id)
        _check_same_request(existing, kind=kind, text=text, template=template, media=media, reply_to=reply_to)
        return existing, False
    if kind not in SEND_KINDS:
        raise DomainError("invalid_kind", _("kind must be one of %(kinds)s.") % {"kinds": ", ".join(SEND_KINDS)})
    state = thread_state(thread=thread, now=now, conversation=conversation, shared_history=thread.shared_history)
    _check_belongs(thread=thread, template=template, reply_to=reply_to)
    check_assigned(thread=thread)
    check_can_send(state=state, kind=kind, template=template)

    link, fields = None, {}
    if kind == "text":
        if not text.strip():
            raise DomainError("invalid", _("Write something to send."))
        ensure_no_restricted_phrases(text=text, now=now)
        fields = {"kind": Kind.TEXT, "body": text}
    elif kind == "template":
        if template is None:
            raise DomainError("invalid", _("Choose a template to send."))
        body, parameters = render_template(template=template, account=thread.account, user=sender,
                                           phone_number=thread.phone_number)
        if template.kind == MessageTemplate.Kind.TEXT_ONLY:
            ensure_no_restricted_phrases(text=body, now=now)  # Meta templates were reviewed; Text Only ones were not
        fields = {"kind": Kind.TEMPLATE, "body": body, "template": template, "template_variables": parameters}
    else:
        if media is None or not media.web_link_enabled:
            raise DomainError("invalid", _("Choose a media item that is enabled for web links."))
        link = weblink_create(media_item=media, thread=thread, now=now)
        url = weblink_url(link=link)
        body = f"{text.strip()}\n\n{media.title}: {url}" if text.strip() else f"{media.title}: {url}"
        ensure_no_restricted_phrases(text=body, now=now)
        fields = {"kind": Kind.MEDIA_LINK, "body": body,
                  "media": {"media_item": media.pk, "title": media.title, "url": url, "link": link.pk}}
    # Under the lock the client_id was free; were it taken anyway, the IntegrityError rolls this
    # transaction (or the caller's savepoint) back and message_send answers with the row that took it.
    message = outbound_message_create(thread=thread, sender=sender, client_id=client_id, reply_to=reply_to, **fields)
    if link is not None:
        link.message = message
        link.save(update_fields=["message"])
    if message.template_id and template.kind == MessageTemplate.Kind.META:
        conversation.last_template_by = sender
        conversation.last_template_at = now
        conversation.save(update_fields=["last_template_by", "last_template_at", "updated_at"])
    _after_queue(message=message, thread=thread, sender=sender, now=now, conversation=conversation,
                 shared_history=state.shared_history)
    if message.template_id and template.kind == MessageTemplate.Kind.META:
        # Other reps' yellow "pending template" banner appears.
        publish_conversation_states(conversation=conversation, now=now, except_thread_id=thread.pk)
    return message, True


def _sent_before(*, thread: Thread, client_id: uuid.UUID) -> Message | None:
    """The message this client_id already made in this thread, with what its output shows."""
    return (Message.objects.select_related("reply_to", "template", "sender")
            .filter(thread=thread, client_id=client_id).first())


_KIND_OF_SEND = {"text": Kind.TEXT, "template": Kind.TEMPLATE, "media": Kind.MEDIA_LINK}


def _check_same_request(existing: Message, *, kind, text, template, media, reply_to) -> None:
    """A client_id seen before answers with its message only for the same request; another content
    under the same key is a client bug that would otherwise be dropped unseen (422)."""
    same = (
        existing.kind == _KIND_OF_SEND.get(kind)
        and existing.template_id == (template.pk if template else None)
        and existing.reply_to_id == (reply_to.pk if reply_to else None)
        and (kind != "text" or existing.body == text)
        and (kind != "media" or ((existing.media or {}).get("media_item") == (media.pk if media else None)
                                 and existing.body.startswith(text.strip())))
    )
    if not same:
        raise IdempotencyKeyReused(
            detail=_("This client_id (Idempotency-Key) already sent another message in this thread; "
                     "use a new key for a new message."), message=existing.pk)


def thread_fresh(thread: Thread, *, client_id: uuid.UUID | None = None) -> Thread:
    """The thread as committed now, with what the rules ask of it, in one statement.

    `on_team`: its rep may still see its HCP; `is_assigned`: its rep still holds its number;
    `shared_history`: another rep's thread with
    this HCP on this number holds messages; given a client_id, `sent_before_id`: the message
    it already made in this thread, or None.
    """
    assigned = PhoneAssignment.objects.filter(user_id=OuterRef("user_id"), phone_number_id=OuterRef("phone_number_id"))
    threads = (Thread.objects.select_related("account", "account__consent", "phone_number", "phone_number__waba")
               .annotate(on_team=on_account_team(), is_assigned=Exists(assigned),
                         shared_history=shared_history_exists()))
    if client_id is not None:
        sent_before = Message.objects.filter(thread_id=OuterRef("pk"), client_id=client_id).values("pk")[:1]
        threads = threads.annotate(sent_before_id=Subquery(sent_before))
    return threads.get(pk=thread.pk)


def check_on_team(*, thread: Thread) -> None:
    # A rep taken off the HCP's account team loses the thread altogether (chats/inbox/access.py).
    if not thread.on_team:
        raise NotFound("not_found", _("No such thread."))


def check_assigned(*, thread: Thread) -> None:
    # A rep taken off a number keeps the thread for reading, but may no longer speak for it.
    if not thread.is_assigned:
        raise SendRefused("phone_number_not_assigned",
                          _("You are no longer assigned to this WhatsApp number; ask your administrator."))


def _check_belongs(*, thread: Thread, template: MessageTemplate | None, reply_to: Message | None) -> None:
    if template is not None and template.waba_id != thread.phone_number.waba_id:
        raise DomainError("invalid", _("That template belongs to another WhatsApp Business Account."))
    if reply_to is not None and reply_to.thread_id != thread.pk:
        raise DomainError("invalid", _("You can only reply to a message of this thread."))


def _after_queue(*, message: Message, thread: Thread, sender, now: datetime, conversation: Conversation,
                 shared_history: bool) -> None:
    """The queued message's activity, audit row and events, and its hand-off to the send task.

    `conversation` is the locked row as this send leaves it; `shared_history` does not change
    with a send of this rep's, so the new state needs no query.
    """
    Thread.objects.filter(pk=thread.pk).update(last_activity_at=now)
    audit(kind=AuditEvent.Kind.MESSAGE_QUEUED, actor=sender, thread=thread, message=message, send_kind=message.kind,
          template=message.template.name if message.template_id else None)
    publish_all_on_commit([
        (thread.user_id, "message.created", message_payload(message)),
        (thread.user_id, "thread.state", thread_state_event(thread=thread, now=now, conversation=conversation,
                                                              shared_history=shared_history)),
    ])
    # After the events: the send task's `message.status` must reach the rep after `message.created`.
    message_queue_outbound(message=message)


# --- ending ---------------------------------------------------------------------


@transaction.atomic
def conversation_end(*, thread: Thread, user, now: datetime | None = None) -> tuple[Conversation, Message | None]:
    """End the open window at once (its owner only) and send the end_conversation template if one exists.

    Returns (conversation, the closing message or None).
    """
    now = now or timezone.now()
    conversation = conversation_lock(phone_number=thread.phone_number, account=thread.account)
    thread = thread_fresh(thread)
    check_on_team(thread=thread)
    state = thread_state(thread=thread, now=now, conversation=conversation, shared_history=thread.shared_history)
    if not has_open_window(state) and _ended_by(conversation, user):
        # The same End again (a retry, a second tap): the first one's answer, nothing more.
        return conversation, _closing_sent(thread=thread, conversation=conversation)
    if not has_open_window(state):
        raise SendRefused("window_closed", _("There is no open conversation to end."))
    if conversation.owner_id != user.pk:
        raise SendRefused("not_window_owner", _("Only the rep who holds the conversation can end it."))
    conversation.ended_at = now
    conversation.ended_by = user
    conversation.save(update_fields=["ended_at", "ended_by", "updated_at"])
    audit(kind=AuditEvent.Kind.WINDOW_ENDED, actor=user, thread=thread, ended_at=now.isoformat())
    closing = _closing_template(thread=thread)
    message = None
    if closing is not None and is_opted_in(state.consent):
        body, parameters = render_template(template=closing, account=thread.account, user=user,
                                           phone_number=thread.phone_number)
        message = outbound_message_create(thread=thread, sender=user, kind=Kind.TEMPLATE, body=body, template=closing,
                                          template_variables=parameters, client_id=uuid.uuid4())
        # Not recorded as the latest template: a closing message invites no answer to route.
        _after_queue(message=message, thread=thread, sender=user, now=now, conversation=conversation,
                     shared_history=state.shared_history)
    else:
        publish_on_commit(thread.user_id, "thread.state", thread_state_event(
            thread=thread, now=now, conversation=conversation, shared_history=state.shared_history))
    # The other reps on the number are no longer locked out; those who waited are told on their devices.
    publish_conversation_states(conversation=conversation, now=now, except_thread_id=thread.pk)
    lock_waiters_release(conversation=conversation)
    return conversation, message


def _ended_by(conversation, user) -> bool:
    """`user` ended this conversation and the HCP has not written since."""
    return conversation.ended_by_id == user.pk and ended_since_inbound(conversation)


def _closing_sent(*, thread: Thread, conversation) -> Message | None:
    """The closing template the conversation's End sent in `thread`, if it sent one."""
    return (Message.objects.select_related("reply_to", "template", "sender")
            .filter(thread=thread, template__usage=MessageTemplate.Usage.END_CONVERSATION,
                    created_at__gte=conversation.ended_at).order_by("id").first())


def _closing_template(*, thread: Thread) -> MessageTemplate | None:
    """The approved end_conversation template in the HCP's language (no fallback: never close in the wrong language)."""
    return (MessageTemplate.objects.approved_meta().filter(
        waba_id=thread.phone_number.waba_id, usage=MessageTemplate.Usage.END_CONVERSATION,
        language=thread.account.language,
    ).order_by("display_order", "id").first())


# --- consent capture ------------------------------------------------------------


def consent_capture_and_confirm(*, account, user, method, thread: Thread | None, now: datetime | None = None):
    """Opt the HCP in (with how consent was obtained, `method`) and, over `thread`, send the
    consent_confirmation template in their language.

    Consent is captured (and committed) first: a confirmation that cannot go out now
    (no template, another rep holds the conversation) does not undo the HCP's consent.
    Returns (record, the confirmation message or None, the refusal code or None).
    """
    record, changed = consent_capture(account=account, actor=user, method=method)
    if thread is None:
        return record, None, "no_thread"
    if not changed:
        # Already opted in: a repeat of this rep's own capture answers with its confirmation; nothing
        # is sent again (idempotent), and an HCP opted in otherwise gets no confirmation from here.
        sent = (Message.objects.select_related("reply_to", "template", "sender")
                .filter(thread=thread, sender=user, template__usage=MessageTemplate.Usage.CONSENT_CONFIRMATION,
                        created_at__gte=record.captured_at).order_by("id").first()
                if record.captured_by_id == user.pk else None)
        return record, sent, None if sent else "already_opted_in"
    thread = Thread.objects.select_related("account", "account__consent", "phone_number__waba").get(pk=thread.pk)
    candidates = list(MessageTemplate.objects.approved_meta().filter(
        waba_id=thread.phone_number.waba_id, usage=MessageTemplate.Usage.CONSENT_CONFIRMATION,
        language__in={account.language, thread.phone_number.waba.default_language},
    ).order_by("display_order", "id"))
    chosen = next((t for t in candidates if t.language == account.language), None) or next(iter(candidates), None)
    if chosen is None:
        return record, None, "no_confirmation_template"
    try:
        message, _created = message_send(thread=thread, sender=user, kind="template", client_id=uuid.uuid4(),
                                         template=chosen, now=now)
    except SendRefused as refusal:
        return record, None, refusal.code
    return record, message, None
