"""API v1 views: parse input, call a selector or service, shape the output. No rules here."""
from django.contrib.auth import authenticate
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from knox.models import AuthToken
from rest_framework import generics, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from chats.api import message_serializers as ms, serializers as s
from chats.api.docs import CHAT_ERRORS, INVALID, NOT_FOUND, THROTTLED, UNAUTHENTICATED, _error
from chats.api.pagination import MessageCursorPagination, PeekLimitOffsetPagination
from chats.api.permissions import HasEngageLicense
from chats.conversations import policy
from chats.conversations.phrases import check_restricted_phrases
from chats.errors import DomainError
from chats.inbox import selectors
from chats.inbox.access import has_engage_license
from chats.inbox.services import api_token_issue, api_token_revoke, thread_get_or_create, thread_mark_read
from config import login_throttle
from consent.selectors import consent_methods_offered
from media_links.selectors import media_for_web_links
from templates_app.rendering import binding_values, render_with
from templates_app.selectors import quick_templates, templates_of_wabas

CHAT = [IsAuthenticated, HasEngageLicense]


class TokenView(APIView):
    """Exchange a username and password for an API token (created once, then reused)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["auth"], request=s.TokenInput,
        responses={200: s.TokenOutput, 400: _error("Wrong username or password (`invalid_credentials`), or `invalid`.",
                                                   "invalid_credentials", "Unable to log in with these credentials."),
                                   429: _error("Too many failed attempts for this username from this address, or "
                                               "from this address at all; `Retry-After` says when to try again.",
                                               "too_many_attempts", login_throttle.MESSAGE)},
        examples=[OpenApiExample("login", value={"username": "rep.alex", "password": "rapport-demo"}, request_only=True),
                  OpenApiExample("token", value={"token": "4f8c2e9a1b7d3c6e5f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e",
                                                  "expiry": "2026-01-04T09:00:00Z"}, response_only=True)],
        auth=[],
    )
    def post(self, request):
        data = s.TokenInput(data=request.data)
        data.is_valid(raise_exception=True)
        username, ip = data.validated_data["username"], login_throttle.client_ip(request)
        if wait := login_throttle.login_blocked(username=username, ip=ip):
            return Response({"code": "too_many_attempts", "detail": login_throttle.MESSAGE}, status=429,
                            headers={"Retry-After": str(wait)})
        user = authenticate(request, **data.validated_data)
        if user is None:
            login_throttle.login_failed(username=username, ip=ip)
            raise DomainError("invalid_credentials", _("Unable to log in with these credentials."))
        login_throttle.login_succeeded(username=username, ip=ip)
        key, token = api_token_issue(user=user)
        return Response({"token": key, "expiry": token.expiry})


class TokenRevokeView(APIView):
    """Revoke the token this request authenticates with (sign-out of an API client)."""

    @extend_schema(tags=["auth"], request=None, responses={204: None, 401: UNAUTHENTICATED},
                   description="The token used for this request stops working at once. Other tokens of the "
                               "user stand; a token also ends at its `expiry`.")
    def post(self, request):
        if not isinstance(request.auth, AuthToken):
            raise DomainError("token_required", _("Revoke with the token itself (Authorization: Token <key>)."))
        api_token_revoke(token=request.auth)
        return Response(status=204)


class MeView(APIView):
    """The signed-in user, their license and their numbers. Open to users without the license."""

    @extend_schema(tags=["me"], responses={200: s.MeOutput, 401: UNAUTHENTICATED})
    def get(self, request):
        user = request.user
        return Response(s.MeOutput({
            "user": user,
            "has_engage_license": has_engage_license(user=user),
            "phone_numbers": selectors.phone_numbers_for_user(user=user),
        }).data)


class AccountListView(generics.ListAPIView):
    """Accounts you may see; those you have a thread with first, then by name."""

    permission_classes = CHAT
    throttle_scopes = {"GET": "search"}
    serializer_class = s.AccountOutput
    pagination_class = PeekLimitOffsetPagination

    def get_queryset(self):
        return selectors.accounts_for_search(user=self.request.user, search=self.request.query_params.get("search", ""))

    @extend_schema(
        tags=["accounts"],
        parameters=[OpenApiParameter("search", OpenApiTypes.STR, description="Part of the name, or digits of the number.")],
        responses={200: s.AccountOutput(many=True), 429: THROTTLED, **CHAT_ERRORS},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class AccountDetailView(APIView):
    permission_classes = CHAT

    @extend_schema(tags=["accounts"], responses={200: s.AccountOutput, 404: NOT_FOUND, **CHAT_ERRORS})
    def get(self, request, account_id: int):
        return Response(s.AccountOutput(selectors.account_for_user(user=request.user, account_id=account_id)).data)


class ConsentMethodListView(generics.ListAPIView):
    """How consent may be obtained: the codes `POST /api/v1/accounts/{id}/consent/` takes as `method`."""

    permission_classes = CHAT
    serializer_class = s.ConsentMethodOutput
    pagination_class = None

    def get_queryset(self):
        return consent_methods_offered()

    @extend_schema(tags=["accounts"], responses={200: s.ConsentMethodOutput(many=True), **CHAT_ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class ThreadListView(generics.ListAPIView):
    """Your threads, latest activity first, with the last message and the unread count."""

    permission_classes = CHAT
    serializer_class = s.ThreadListOutput
    pagination_class = PeekLimitOffsetPagination

    def get_queryset(self):
        return selectors.threads_for_user(user=self.request.user)

    def list(self, request, *args, **kwargs):
        page = selectors.attach_last_messages(self.paginate_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(tags=["threads"], responses={200: s.ThreadListOutput(many=True), **CHAT_ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=["threads"], request=s.ThreadInput,
        responses={
            201: s.ThreadDetailOutput, 200: s.ThreadDetailOutput,
            400: _error("`invalid`, `no_phone_number`, `phone_number_required` or `phone_number_not_assigned`.",
                        "phone_number_required", "You have several numbers; say which one to chat from."),
            404: NOT_FOUND, **CHAT_ERRORS,
        },
        examples=[OpenApiExample("start", value={"account": 12, "phone_number": 1}, request_only=True)],
        description="Get or create your thread with an account: 201 when created, 200 when it existed.",
    )
    def post(self, request):
        data = s.ThreadInput(data=request.data)
        data.is_valid(raise_exception=True)
        account = selectors.account_for_user(user=request.user, account_id=data.validated_data["account"])
        thread, created = thread_get_or_create(
            user=request.user, account=account, phone_number_id=data.validated_data.get("phone_number")
        )
        thread = selectors.thread_for_user(user=request.user, thread_id=thread.pk)
        return Response(thread_detail(thread, request.user), status=status.HTTP_201_CREATED if created else 200)


def thread_detail(thread, user) -> dict:
    state = policy.thread_state(thread=thread)
    waba = thread.phone_number.waba
    values = binding_values(account=thread.account, user=user, phone_number=thread.phone_number)
    # Offered whatever the state: the client shows them when no window is open, and
    # `state` says whether sending is allowed at all.
    quick = quick_templates(waba=waba, language=thread.account.language)
    for template in quick:
        template.preview, template.parameters = render_with(template=template, values=values)
    thread.state, thread.quick_templates = state, quick
    return s.ThreadDetailOutput(thread).data


class ThreadDetailView(APIView):
    permission_classes = CHAT

    @extend_schema(
        tags=["threads"], responses={200: s.ThreadDetailOutput, 404: NOT_FOUND, **CHAT_ERRORS},
        description="The thread with its `state` (computed now from stored timestamps) and up to two quick templates.",
    )
    def get(self, request, thread_id: int):
        thread = selectors.thread_for_user(user=request.user, thread_id=thread_id)
        return Response(thread_detail(thread, request.user))


class ThreadReadView(APIView):
    permission_classes = CHAT

    @extend_schema(tags=["threads"], request=None, responses={200: s.ReadOutput, 404: NOT_FOUND, **CHAT_ERRORS},
                   description="Mark everything in the thread read now; its unread count drops to 0. The HCP's "
                               "latest unread message is marked read at WhatsApp too (blue ticks), once.")
    def post(self, request, thread_id: int):
        thread = thread_mark_read(thread=selectors.thread_for_user(user=request.user, thread_id=thread_id))
        return Response({"id": thread.pk, "last_read_at": thread.last_read_at})


class ThreadMessagesView(generics.ListAPIView):
    """The thread's own messages, oldest first, in cursor pages (or from the newest page with `?latest=1`)."""

    permission_classes = CHAT
    serializer_class = ms.MessageOutput
    pagination_class = MessageCursorPagination

    def get_queryset(self):
        thread = selectors.thread_for_user(user=self.request.user, thread_id=self.kwargs["thread_id"])
        return selectors.messages_for_thread(thread=thread)

    @extend_schema(
        tags=["messages"], responses={200: ms.MessageOutput(many=True), 404: NOT_FOUND, **CHAT_ERRORS},
        description="Cursor pages, oldest first: follow `next` to reach the newest message. With `?latest=1` the "
                    "first page is the newest one (still oldest first within the page) and `previous` goes back "
                    "in time; a chat screen opens with it.",
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class TemplateListView(APIView):
    permission_classes = CHAT

    @extend_schema(
        tags=["templates"], parameters=[s.TemplateQuery],
        responses={200: s.TemplateOutput(many=True), 400: INVALID, 404: NOT_FOUND, **CHAT_ERRORS},
        description="With `thread`: the templates the thread may send now, rendered for its HCP (empty while "
                    "another rep holds the window). Without: every template of your numbers' WABAs, any status.",
    )
    def get(self, request):
        query = s.TemplateQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        if "thread" not in query.validated_data:
            waba_ids = selectors.phone_numbers_for_user(user=request.user).values("waba_id")
            templates = templates_of_wabas(waba_ids=waba_ids)
            for template in templates:
                template.preview, template.parameters = template.body, {}
            return Response(s.TemplateOutput(templates, many=True).data)
        thread = selectors.thread_for_user(user=request.user, thread_id=query.validated_data["thread"])
        templates = policy.templates_to_offer(thread=thread, state=policy.thread_state(thread=thread),
                                              category=query.validated_data.get("category") or None)
        values = binding_values(account=thread.account, user=request.user, phone_number=thread.phone_number)
        for template in templates:
            template.preview, template.parameters = render_with(template=template, values=values)
        return Response(s.TemplateOutput(templates, many=True).data)


class MediaListView(generics.ListAPIView):
    """Media items enabled for sharing as tracked links."""

    permission_classes = CHAT
    serializer_class = s.MediaOutput
    pagination_class = None

    def get_queryset(self):
        return media_for_web_links()

    @extend_schema(tags=["media"], responses={200: s.MediaOutput(many=True), **CHAT_ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class PhraseCheckView(APIView):
    permission_classes = CHAT

    @extend_schema(
        tags=["restricted phrases"], request=s.PhraseCheckInput,
        responses={200: s.PhraseCheckOutput, 400: INVALID, **CHAT_ERRORS},
        examples=[
            OpenApiExample("text", value={"text": "Cholecap is 100% safe"}, request_only=True),
            OpenApiExample("matches", response_only=True, value={"matches": [
                {"start": 12, "end": 21, "phrase": "100\\s*%\\s*(safe|effective)", "rule": "Off-label claims",
                 "match_type": "regex"}]}),
        ],
        description="The same matcher that guards sends; offsets index the text as given.",
    )
    def post(self, request):
        data = s.PhraseCheckInput(data=request.data)
        data.is_valid(raise_exception=True)
        matches = check_restricted_phrases(text=data.validated_data["text"])
        return Response({"matches": [m.as_dict() for m in matches]})
