"""The integration endpoints (`/api/v1/integration/…`): a CRM pushes HCP accounts and consent by its own ids,
reads every rep's threads and messages (read-only) and follows the change feed. Thin: the rules live in
chats/integration/. Authenticated by integration tokens only (`Authorization: Bearer <token>`), each
operation behind one scope."""
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from chats.api import integration_serializers as i
from chats.api import serializers as s
from chats.api.docs import INVALID, NOT_FOUND, UNAUTHENTICATED, _error
from chats.api.integration_auth import HasScope, IntegrationTokenAuthentication, ScopeRequired
from chats.api.pagination import MessageCursorPagination, PeekLimitOffsetPagination, query_datetime, query_int
from chats.integration import feed, selectors
from chats.integration.accounts import account_upsert, accounts_bulk_upsert
from chats.integration.credentials import (
    integration_read_record, webhook_secret_rotate, webhook_subscribe, webhook_unsubscribe,
)

SCOPE_REQUIRED = _error("The integration's credential lacks the scope this call needs (`scope_required`).",
                        "scope_required", "This call needs the `accounts:write` scope; the integration's "
                                          "credential lacks it.")
ERRORS = {401: UNAUTHENTICATED, 403: SCOPE_REQUIRED}
CONFLICT = _error("`conflict`: another HCP account holds this number or user id (`field`, `account` say which); "
                  "`opted_out_by_hcp`: imported consent cannot undo the HCP's own opt-out.", "conflict",
                  "Another HCP account (id 12, external id none) has this whatsapp number.")
WEBHOOK_INVALID = _error("`invalid`: a field is wrong (`errors`); `webhook_url_refused`: the URL is not http(s) on a "
                         "public address; `too_many_subscriptions`: delete one first.", "webhook_url_refused",
                         "127.0.0.1 resolves to 127.0.0.1, a loopback or private address; …")
CURSOR_EXPIRED = _error("`cursor_expired`: the cursor is older than the kept feed (INTEGRATION_CHANGE_RETENTION_DAYS); "
                        "resync from the lists with `updated_since`, then follow the feed without a cursor.",
                        "cursor_expired", "This cursor is older than the change feed keeps (changes are kept 30 "
                                          "days): resync from the lists with `updated_since`, then follow the feed "
                                          "again without a cursor.")
UPDATED_SINCE = OpenApiParameter("updated_since", OpenApiTypes.DATETIME,
                                 description="Only what changed at or after this time (ISO 8601), oldest first.")


def updated_since(request):
    return query_datetime(request, "updated_since")


class IntegrationView(APIView):
    authentication_classes = [IntegrationTokenAuthentication]
    permission_classes = [IsAuthenticated, HasScope]
    required_scopes: dict[str, str] = {}


class IntegrationListView(IntegrationView, generics.ListAPIView):
    pagination_class = PeekLimitOffsetPagination


class AccountListView(IntegrationListView):
    """Every HCP account, least recently changed first."""

    required_scopes = {"GET": "accounts:write"}
    serializer_class = i.IntegrationAccountOutput

    def get_queryset(self):
        return selectors.accounts_for_integration(updated_since=updated_since(self.request))

    @extend_schema(tags=["integration"], parameters=[UPDATED_SINCE],
                   responses={200: i.IntegrationAccountOutput(many=True), 400: INVALID, **ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class AccountView(IntegrationView):
    """One HCP by the CRM's id: read, upsert (PUT) or change (PATCH)."""

    required_scopes = {"GET": "accounts:write", "PUT": "accounts:write", "PATCH": "accounts:write"}

    @extend_schema(tags=["integration"], responses={200: i.IntegrationAccountOutput, 404: NOT_FOUND, **ERRORS})
    def get(self, request, external_id: str):
        return Response(i.IntegrationAccountOutput(selectors.account_by_external_id(external_id=external_id)).data)

    def _write(self, request, external_id: str, *, create: bool):
        data = i.AccountInput(data=request.data)
        data.is_valid(raise_exception=True)
        if "consent" in data.validated_data and "consent:write" not in request.auth.scopes:
            raise ScopeRequired("Importing consent needs the `consent:write` scope; the integration's credential "
                                "lacks it.")
        done = account_upsert(integration=request.auth, external_id=external_id, data=data.validated_data,
                              create=create)
        account = selectors.account_by_external_id(external_id=external_id)
        body = i.UpsertOutput(account, context={"consent_import": done.consent}).data
        return Response(body, status=status.HTTP_201_CREATED if done.outcome == "created" else 200)

    @extend_schema(
        tags=["integration"], request=i.AccountInput,
        responses={201: i.UpsertOutput, 200: i.UpsertOutput, 400: INVALID, 409: CONFLICT, **ERRORS},
        examples=[OpenApiExample("upsert", request_only=True, value={
            "name": "Dr. Ada Lovelace", "whatsapp_number": "+447700900001", "language": "en", "country": "GB",
            "specialty": "Cardiology", "team": ["rep.alex"],
            "consent": {"status": "opted_in", "captured_at": "2026-02-01T10:00:00Z", "source": "Veeva CRM",
                        "method": "written", "wording": "I agree to receive WhatsApp messages ..."}})],
        description="Creates the HCP with this external id (201), or changes the fields given (200; the same "
                    "request again changes nothing). An HCP Rapport keeps without an external id and with the "
                    "same number or user id is adopted. `consent` needs the `consent:write` scope too.")
    def put(self, request, external_id: str):
        return self._write(request, external_id, create=True)

    @extend_schema(tags=["integration"], request=i.AccountInput,
                   responses={200: i.UpsertOutput, 400: INVALID, 404: NOT_FOUND, 409: CONFLICT, **ERRORS},
                   description="Changes the fields given of the HCP with this external id; 404 when there is none.")
    def patch(self, request, external_id: str):
        return self._write(request, external_id, create=False)


class AccountBulkView(IntegrationView):
    required_scopes = {"POST": "accounts:write"}

    @extend_schema(
        tags=["integration"], request=i.BulkInput, responses={200: i.BulkOutput, 400: INVALID, **ERRORS},
        description="Upserts up to 1,000 HCPs, each as `PUT /integration/accounts/{external_id}/` would, each on "
                    "its own: one result per row, in order; a row that fails changes nothing and holds back no other.")
    def post(self, request):
        body = i.BulkInput(data=request.data)
        body.is_valid(raise_exception=True)
        may_import_consent = "consent:write" in request.auth.scopes
        rows = []
        for item in body.validated_data["accounts"]:
            row = i.BulkAccountInput(data=item)
            external_id = item.get("external_id") if isinstance(item.get("external_id"), str) else None
            if not row.is_valid():
                rows.append((external_id, None, row.errors))
            elif "consent" in row.validated_data and not may_import_consent:
                rows.append((external_id, None, {"consent": ["Importing consent needs the `consent:write` scope."]}))
            else:
                data = dict(row.validated_data)
                rows.append((data.pop("external_id"), data, None))
        return Response({"results": accounts_bulk_upsert(integration=request.auth, rows=rows)})


class ThreadListView(IntegrationListView):
    """Every rep's threads, least recent activity first."""

    required_scopes = {"GET": "messages:read"}
    serializer_class = i.IntegrationThreadOutput

    def get_queryset(self):
        return selectors.threads_for_integration(updated_since=updated_since(self.request))

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        integration_read_record(integration=request.auth, what="threads", count=len(page))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(tags=["integration"], parameters=[UPDATED_SINCE],
                   responses={200: i.IntegrationThreadOutput(many=True), 400: INVALID, **ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class ThreadMessagesView(IntegrationView, generics.ListAPIView):
    """Any rep's thread's messages, read-only, in the one message shape."""

    required_scopes = {"GET": "messages:read"}
    serializer_class = s.MessageOutput
    pagination_class = MessageCursorPagination

    def list(self, request, *args, **kwargs):
        thread = selectors.thread_for_integration(thread_id=self.kwargs["thread_id"])
        messages = selectors.messages_for_integration(thread=thread, updated_since=updated_since(request))
        page = self.paginate_queryset(messages)
        integration_read_record(integration=request.auth, what="messages", count=len(page), thread=thread)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(tags=["integration"], parameters=[UPDATED_SINCE],
                   responses={200: s.MessageOutput(many=True), 400: INVALID, 404: NOT_FOUND, **ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class ChangesView(IntegrationView):
    required_scopes = {"GET": "events:read"}

    @extend_schema(
        tags=["integration"],
        parameters=[OpenApiParameter("cursor", OpenApiTypes.STR, description="The `cursor` of the last change "
                                     "you handled (none: from the oldest kept)."),
                    OpenApiParameter("limit", OpenApiTypes.INT, description="At most this many (default 100, max 1000)."),
                    OpenApiParameter("types", OpenApiTypes.STR, description="Only these types, comma-separated.")],
        responses={200: i.ChangesOutput, 400: INVALID, 410: CURSOR_EXPIRED, **ERRORS},
        description="Every change in commit order after `cursor`: a client that pages from its last cursor never "
                    "misses or doubles one. `safety_case.changed` only with the `safety:read` scope too.")
    def get(self, request):
        after = feed.seq_of(request.query_params.get("cursor"))
        limit = query_int(request, "limit", default=100, minimum=1, maximum=1000)
        types = {t for t in request.query_params.get("types", "").split(",") if t}
        if types - set(feed.CHANGE_TYPES):
            raise ValidationError({"types": [f"Choose among {', '.join(feed.CHANGE_TYPES)}."]})
        if "safety:read" not in request.auth.scopes:  # safety cases are for a safety system only
            if types & set(feed.SAFETY_CHANGE_TYPES):
                raise ScopeRequired("Safety-case changes need the `safety:read` scope; the integration's "
                                    "credential lacks it.")
            types = (types or set(feed.CHANGE_TYPES)) - set(feed.SAFETY_CHANGE_TYPES)
        changes = feed.changes_after(seq=after, limit=limit + 1, types=types)
        page = changes[:limit]
        integration_read_record(integration=request.auth, what="changes", count=len(page))
        return Response({"results": [feed.change_fields(change) for change in page],
                         "cursor": feed.cursor_of(page[-1].seq if page else after), "has_more": len(changes) > limit})


class WebhookListView(IntegrationListView):
    """The integration's own webhook subscriptions; subscribe a URL (its signing secret shown once)."""

    required_scopes = {"GET": "events:read", "POST": "events:read"}
    serializer_class = i.WebhookSubscriptionOutput

    def get_queryset(self):
        return selectors.webhook_subscriptions_of(integration=self.request.auth)

    @extend_schema(tags=["integration"], responses={200: i.WebhookSubscriptionOutput(many=True), **ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=["integration"], request=i.WebhookSubscriptionInput, responses={201: i.WebhookSecretOutput,
                                                                             400: WEBHOOK_INVALID, **ERRORS},
        examples=[OpenApiExample("subscribe", request_only=True, value={
            "url": "https://crm.example/rapport", "event_types": ["message.created", "message.status"]})],
        description="Every change of these types committed from now on is posted to the URL, signed per Standard "
                    "Webhooks with the `secret` this answer shows, once. A URL on a loopback or private address is "
                    "refused (`webhook_url_refused`).")
    def post(self, request):
        body = i.WebhookSubscriptionInput(data=request.data)
        body.is_valid(raise_exception=True)
        subscription, secret = webhook_subscribe(integration=request.auth, url=body.validated_data["url"],
                                                 event_types=body.validated_data["event_types"],
                                                 actor=request.auth.user)
        return Response(i.WebhookSecretOutput(subscription, context={"secret": secret}).data,
                        status=status.HTTP_201_CREATED)


class WebhookView(IntegrationView):
    required_scopes = {"DELETE": "events:read"}

    @extend_schema(tags=["integration"], responses={204: None, 404: NOT_FOUND, **ERRORS},
                   description="Ends the subscription at once, with its delivery log; what was pending is not sent.")
    def delete(self, request, subscription_id: int):
        subscription = selectors.webhook_subscription_of(integration=request.auth, subscription_id=subscription_id)
        webhook_unsubscribe(subscription=subscription, actor=request.auth.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookSecretView(IntegrationView):
    required_scopes = {"POST": "events:read"}

    @extend_schema(tags=["integration"], request=None, responses={200: i.WebhookSecretOutput, 404: NOT_FOUND, **ERRORS},
                   description="A new signing secret, shown this once; the old one stops at once (retries of "
                               "pending deliveries are signed with the new one).")
    def post(self, request, subscription_id: int):
        subscription = selectors.webhook_subscription_of(integration=request.auth, subscription_id=subscription_id)
        secret = webhook_secret_rotate(subscription=subscription, actor=request.auth.user)
        return Response(i.WebhookSecretOutput(subscription, context={"secret": secret}).data)
