"""API v1 endpoints that change conversations: send, end, typing, capture consent. Thin: the rules live in chats/conversations/."""
import uuid

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from chats.api import message_serializers as ms, serializers as s
from chats.api import views
from chats.api.docs import CHAT_ERRORS, NOT_FOUND, SEND_UNPROCESSABLE, THROTTLED, _error
from chats.conversations.announcements import thread_state_event
from chats.conversations.reactions import rep_reaction_set
from chats.conversations.sending import consent_capture_and_confirm, conversation_end, message_send
from chats.errors import DomainError
from chats.inbox import selectors
from chats.inbox.receipts import TypingOutcome, typing_indicator_queue
from chats.inbox.services import thread_get_or_create
from chats.models import Message
from media_links.selectors import media_for_web_links
from templates_app.selectors import template_by_reference

SEND_REFUSED = _error(
    "A conversation rule refused the send: `consent_required`, `opted_out`, `window_closed`, "
    "`conversation_locked` or `template_not_approved`.",
    "window_closed", "No open 24-hour window with this HCP: send an approved Meta template and wait for an answer.",
)


# Keys that are not UUIDs map to one: the same key, the same client_id (per thread, as client_id is).
_IDEMPOTENCY_NAMESPACE = uuid.UUID("5f0c8d1e-2b7a-4c39-9a1e-7d2f3b6c8e41")
IDEMPOTENCY_KEY_MAX = 255


def idempotency_key(request, client_id: uuid.UUID | None) -> uuid.UUID:
    """The send's idempotency key: `client_id` in the body, or the `Idempotency-Key` header (a UUID, or
    any other text up to 255 characters, mapped to a UUID); both given, they must agree."""
    header = request.headers.get("Idempotency-Key")
    if header is None:
        if client_id is None:
            raise ValidationError({"client_id": ["Give a client_id, or an Idempotency-Key header."]})
        return client_id
    header = header.strip()
    if not header or len(header) > IDEMPOTENCY_KEY_MAX:
        raise ValidationError({"Idempotency-Key": [f"Give 1 to {IDEMPOTENCY_KEY_MAX} characters."]})
    try:
        key = uuid.UUID(header)
    except ValueError:
        key = uuid.uuid5(_IDEMPOTENCY_NAMESPACE, header)
    if client_id is not None and client_id != key:
        raise ValidationError({"client_id": ["Differs from the Idempotency-Key header; give one key."]})
    return key


class ThreadMessagesView(views.ThreadMessagesView):
    """GET: the thread's messages (see views.ThreadMessagesView). POST: send one."""

    throttle_scopes = {"POST": "send"}

    @extend_schema(
        tags=["messages"], request=s.MessageInput,
        parameters=[OpenApiParameter(
            "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
            description="Works like `client_id` (give either): a UUID, or any text up to 255 characters.")],
        responses={
            201: ms.MessageOutput, 200: ms.MessageOutput,
            400: _error("`invalid` (field errors under `errors`), or `template_not_found` (no template of the "
                        "thread's WABA by that id, or by that name in that language).", "template_not_found",
                        "No template of this WhatsApp Business Account by that id, or by that name in that "
                        "language.", s.BadRequestSerializer),
            404: NOT_FOUND, 409: SEND_REFUSED, 422: SEND_UNPROCESSABLE,
            429: THROTTLED, **CHAT_ERRORS,
        },
        examples=[
            OpenApiExample("text", request_only=True,
                           value={"kind": "text", "text": "Thanks, doctor", "client_id": "8c1e2f0a-6a43-4c1e-9d8b-1a2b3c4d5e6f"}),
            OpenApiExample("template", request_only=True,
                           value={"kind": "template", "template": 3, "client_id": "0b7d6f2e-1c5a-4a8e-b1e2-9f8e7d6c5b4a"}),
        ],
        description="Queue a message: 201 with the new message, or 200 with the existing one when `client_id` was seen.",
    )
    def post(self, request, thread_id: int):
        thread = selectors.thread_for_user(user=request.user, thread_id=thread_id)
        data = s.MessageInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        client_id = idempotency_key(request, values.get("client_id"))
        template = media = reply_to = None
        if values.get("template"):
            template = template_by_reference(waba=thread.phone_number.waba, reference=values["template"],
                                             language=values.get("language"), hcp_language=thread.account.language)
            if template is None:
                raise DomainError("template_not_found", _("No template of this WhatsApp Business Account by that "
                                                        "id, or by that name in that language."))
        if values.get("media"):
            media = media_for_web_links().filter(pk=values["media"]).first()
            if media is None:
                raise DomainError("invalid", _("No such media item enabled for web links."))
        if values.get("reply_to"):
            reply_to = Message.objects.filter(pk=values["reply_to"], thread=thread).first()
            if reply_to is None:
                raise DomainError("invalid", _("You can only reply to a message of this thread."))
        message, created = message_send(
            thread=thread, sender=request.user, kind=values["kind"], client_id=client_id,
            text=values.get("text", ""), template=template, media=media, reply_to=reply_to,
        )
        return Response(ms.MessageOutput(message).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


REACTION_REFUSED = _error(
    "A conversation rule refused the reaction: `window_closed` (reactions go inside the 24-hour window only), "
    "`consent_required`, `opted_out`, `conversation_locked`, `phone_number_not_assigned`, or `message_not_sent` "
    "(the message has no WhatsApp id yet).",
    "window_closed", "No open 24-hour window with this HCP: send an approved Meta template and wait for an answer.",
)


class MessageReactionView(APIView):
    """PUT: set your reaction on a message of your thread; DELETE (or an empty emoji): remove it."""

    permission_classes = views.CHAT
    throttle_scopes = {"PUT": "send", "DELETE": "send"}

    @extend_schema(
        tags=["messages"], request=ms.ReactionInput,
        responses={200: ms.ReactionStateOutput,
                   400: _error("`invalid_emoji`: not one emoji.", "invalid_emoji",
                               "Give one emoji, e.g. 👍, or nothing to remove your reaction."),
                   404: NOT_FOUND, 409: REACTION_REFUSED, 429: THROTTLED, **CHAT_ERRORS},
        examples=[OpenApiExample("react", request_only=True, value={"emoji": "👍"})],
        description="Set your reaction (one emoji) on a message of this thread, the HCP's or your own; an empty "
                    "`emoji` removes it. Inside the 24-hour window only, like free text. Answers with the message's "
                    "reactions now (yours `queued` until WhatsApp took it); `message.reaction` events follow.",
    )
    def put(self, request, thread_id: int, message_id: int):
        data = ms.ReactionInput(data=request.data)
        data.is_valid(raise_exception=True)
        return self._set(request, thread_id, message_id, data.validated_data["emoji"])

    @extend_schema(
        tags=["messages"], request=None,
        responses={200: ms.ReactionStateOutput, 404: NOT_FOUND, 409: REACTION_REFUSED, 429: THROTTLED, **CHAT_ERRORS},
        description="Remove your reaction from a message of this thread (inside the 24-hour window only).",
    )
    def delete(self, request, thread_id: int, message_id: int):
        return self._set(request, thread_id, message_id, "")

    def _set(self, request, thread_id: int, message_id: int, emoji: str) -> Response:
        thread = selectors.thread_for_user(user=request.user, thread_id=thread_id)
        message, reactions = rep_reaction_set(thread=thread, user=request.user, message_id=message_id, emoji=emoji)
        return Response({"thread": thread.pk, "message": {"id": message.pk, "reactions": reactions}})


class EndConversationView(APIView):
    permission_classes = views.CHAT

    @extend_schema(
        tags=["threads"], request=None,
        responses={200: s.EndOutput, 404: NOT_FOUND,
                   409: _error("`window_closed` (nothing to end) or `not_window_owner`.", "not_window_owner",
                               "Only the rep who holds the conversation can end it."),
                   **CHAT_ERRORS},
        description="End the open window now (its owner only); the end_conversation template is sent when one exists.",
    )
    def post(self, request, thread_id: int):
        thread = selectors.thread_for_user(user=request.user, thread_id=thread_id)
        _ended, closing = conversation_end(thread=thread, user=request.user)
        thread = selectors.thread_for_user(user=request.user, thread_id=thread_id)
        body = thread_state_event(thread=thread)
        return Response({"thread": thread.pk, "state": body["state"],
                         "closing_message": ms.MessageOutput(closing).data if closing else None})


class TypingView(APIView):
    """The rep is typing: show the HCP WhatsApp's typing indicator (chats/inbox/receipts.py)."""

    permission_classes = views.CHAT

    class Output(serializers.Serializer):
        thread = serializers.IntegerField()
        indicator = serializers.ChoiceField(
            choices=TypingOutcome.ALL,
            help_text="`queued`: an indicator goes to WhatsApp; `debounced`: one went in the last 15 seconds and "
                      "still shows; `no_message`: no HCP message to attach it to; `disabled`: read receipts are "
                      "off (WHATSAPP_SEND_READ_RECEIPTS).")

    @extend_schema(
        tags=["threads"], request=None, responses={202: Output, 404: NOT_FOUND, 409: SEND_REFUSED, **CHAT_ERRORS},
        description="Call while the rep types (every 20 seconds or so is plenty: WhatsApp shows the indicator for "
                    "about 25 seconds, or until the reply arrives). The server sends at most one indicator per "
                    "thread every 15 seconds, only when a text could be sent now (else 409 with the send rule's "
                    "code, e.g. `window_closed`). It also marks the HCP's latest message read at WhatsApp.",
    )
    def post(self, request, thread_id: int):
        thread = selectors.thread_for_user(user=request.user, thread_id=thread_id)
        outcome = typing_indicator_queue(thread=thread)
        return Response({"thread": thread.pk, "indicator": outcome}, status=status.HTTP_202_ACCEPTED)


class CaptureConsentView(APIView):
    permission_classes = views.CHAT

    @extend_schema(
        tags=["accounts"], request=s.ConsentInput,
        responses={200: s.ConsentOutput, 400: _error("`invalid` or a phone number choice error.", "phone_number_required",
                                                     "You have several numbers; say which one to chat from."),
                   404: NOT_FOUND,
                   409: _error("`opted_out_by_hcp`: the HCP opted out themselves; only their own subscribe keyword "
                               "opts them in again.", "opted_out_by_hcp",
                               "The HCP opted out themselves; only their own subscribe keyword (e.g. START) opts "
                               "them in again."),
                   **CHAT_ERRORS},
        description="Opt the HCP in and send the consent_confirmation template in their language from your "
                    "thread with them. `method` says how consent was obtained (a code from "
                    "`GET /api/v1/consent/methods/`); the consent event records it, the wording version the HCP "
                    "agreed to, you and the time. Refused (409 `opted_out_by_hcp`) when the HCP's latest consent "
                    "change is their own opt-out.",
    )
    def post(self, request, account_id: int):
        account = selectors.account_for_user(user=request.user, account_id=account_id)
        data = s.ConsentInput(data=request.data)
        data.is_valid(raise_exception=True)
        thread, _created = thread_get_or_create(user=request.user, account=account,
                                                phone_number_id=data.validated_data.get("phone_number"))
        record, message, not_sent = consent_capture_and_confirm(
            account=account, user=request.user, method=data.validated_data["method"], thread=thread)
        return Response({
            "account": account.pk, "consent_status": record.status, "thread": thread.pk,
            "method": record.method.code if record.method else None,
            "wording_version": record.wording.version if record.wording else None,
            "confirmation": ms.MessageOutput(message).data if message else None, "confirmation_not_sent": not_sent,
        })
