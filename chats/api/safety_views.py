"""Safety cases over the API: drug safety (staff) or a safety system (an integration with `safety:read`) reads
them; the rep adds a note to a case on their own thread; staff who work the queue close one. Thin: the rules
live in chats/safety/."""
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from chats.api import safety_serializers as ss
from chats.api.authentication import TokenAuthentication
from chats.api.docs import CHAT_ERRORS, INVALID, NOT_FOUND, UNAUTHENTICATED, _error
from chats.api.integration_auth import IntegrationTokenAuthentication, ScopeRequired
from chats.api.pagination import PeekLimitOffsetPagination, query_datetime
from chats.api.permissions import HasEngageLicense
from chats.integration.credentials import integration_read_record
from chats.models import Integration, SafetyCase
from chats.safety import selectors
from chats.safety.cases import may_work_safety_cases, safety_case_close, safety_case_note

SAFETY_SCOPE = Integration.Scope.SAFETY_READ.value


class SafetyStaffOnly(exceptions.PermissionDenied):
    default_detail = "Only drug safety (staff who may view safety cases in admin) may do this."
    default_code = "staff_only"


def may_read_safety_cases(*, user) -> bool:
    return bool(user.is_active and user.is_staff and user.has_perm("chats.view_safetycase"))


class ReadsSafetyCases(BasePermission):
    """Staff who may view safety cases, or an integration whose credential has `safety:read`."""

    def has_permission(self, request, view):
        if isinstance(request.auth, Integration):
            if SAFETY_SCOPE not in request.auth.scopes:
                raise ScopeRequired(f"This call needs the `{SAFETY_SCOPE}` scope; the integration's credential "
                                    "lacks it.")
            return True
        if not (request.user and request.user.is_authenticated):
            return False  # IsAuthenticated, listed first, answers 401
        if not may_read_safety_cases(user=request.user):
            raise SafetyStaffOnly()
        return True


class WorksSafetyCases(BasePermission):
    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        if not may_work_safety_cases(user=request.user):
            raise SafetyStaffOnly("Only drug safety (staff who may change safety cases in admin) may close a case.")
        return True


FORBIDDEN = _error("Not staff of drug safety (`staff_only`), or an integration without the `safety:read` scope "
                   "(`scope_required`).", "scope_required",
                   "This call needs the `safety:read` scope; the integration's credential lacks it.")
READERS = [IntegrationTokenAuthentication, SessionAuthentication, TokenAuthentication]


class SafetyCaseListView(ListAPIView):
    """Every safety case, the earliest deadline first."""

    authentication_classes = READERS
    permission_classes = [IsAuthenticated, ReadsSafetyCases]
    serializer_class = ss.SafetyCaseOutput
    pagination_class = PeekLimitOffsetPagination

    def get_queryset(self):
        params = self.request.query_params
        status, due = params.get("status") or None, params.get("due") or None
        if status and status not in SafetyCase.Status.values:
            raise ValidationError({"status": [f"Choose among {', '.join(SafetyCase.Status.values)}."]})
        if due and due not in selectors.DUE_STATES:
            raise ValidationError({"due": [f"Choose among {', '.join(selectors.DUE_STATES)}."]})
        rep = params.get("rep") or None
        if rep is not None and not (rep.isascii() and rep.isdigit()):
            raise ValidationError({"rep": ["Give a user id."]})
        return selectors.safety_cases_queue(
            now=timezone.now(), status=status, due=due, product=params.get("product") or None,
            country=params.get("country") or None, rep_id=int(rep) if rep else None,
            received_since=query_datetime(self.request, "received_since"))

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        if isinstance(request.auth, Integration):
            integration_read_record(integration=request.auth, what="safety_cases", count=len(page))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        tags=["safety"],
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=[*SafetyCase.Status.values]),
            OpenApiParameter("due", OpenApiTypes.STR, enum=[*selectors.DUE_STATES],
                             description="`overdue`, `due_soon` (open, within SAFETY_CASE_DUE_SOON_HOURS of the "
                                         "deadline), `on_time`, or `done` (forwarded or closed)."),
            OpenApiParameter("product", OpenApiTypes.STR, description="Cases whose message names this product."),
            OpenApiParameter("country", OpenApiTypes.STR, description="The HCP's country (ISO 3166-1 alpha-2)."),
            OpenApiParameter("rep", OpenApiTypes.INT, description="The rep's user id."),
            OpenApiParameter("received_since", OpenApiTypes.DATETIME, description="Received at or after (ISO 8601)."),
        ],
        responses={200: ss.SafetyCaseOutput(many=True), 400: INVALID, 401: UNAUTHENTICATED, 403: FORBIDDEN},
        description="For drug safety (staff) and safety systems (an integration token with `safety:read`).")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class SafetyCaseDetailView(APIView):
    authentication_classes = READERS
    permission_classes = [IsAuthenticated, ReadsSafetyCases]

    @extend_schema(tags=["safety"], responses={200: ss.SafetyCaseDetailOutput, 401: UNAUTHENTICATED,
                                               403: FORBIDDEN, 404: NOT_FOUND})
    def get(self, request, case_id: int):
        case = selectors.safety_case_with_trail(case_id=case_id)
        if isinstance(request.auth, Integration):
            integration_read_record(integration=request.auth, what="safety_cases", count=1)
        return Response(ss.SafetyCaseDetailOutput(case).data)


class SafetyCaseNoteView(APIView):
    """The rep adds what they know to a case on their own thread."""

    permission_classes = [IsAuthenticated, HasEngageLicense]

    @extend_schema(tags=["safety"], request=ss.NoteInput,
                   responses={201: ss.SafetyTrailOutput, 400: INVALID, 404: NOT_FOUND, **CHAT_ERRORS},
                   description="Appends the note to the case's trail; the case goes on to drug safety as it is. "
                               "404 for a case on another rep's thread.")
    def post(self, request, case_id: int):
        case = selectors.safety_case_for_rep(user=request.user, case_id=case_id)
        data = ss.NoteInput(data=request.data)
        data.is_valid(raise_exception=True)
        event = safety_case_note(case=case, author=request.user, note=data.validated_data["note"])
        return Response(ss.SafetyTrailOutput(event).data, status=201)


class SafetyCaseCloseView(APIView):
    """Drug safety closes a case as not an adverse event."""

    permission_classes = [IsAuthenticated, WorksSafetyCases]

    @extend_schema(tags=["safety"], request=ss.CloseInput,
                   responses={200: ss.SafetyCaseOutput, 400: INVALID, 401: UNAUTHENTICATED,
                              403: _error("Not staff of drug safety (`staff_only`); a rep never closes a case.",
                                          "staff_only", SafetyStaffOnly.default_detail), 404: NOT_FOUND})
    def post(self, request, case_id: int):
        case = selectors.safety_case_with_trail(case_id=case_id)
        data = ss.CloseInput(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(ss.SafetyCaseOutput(safety_case_close(case=case, actor=request.user,
                                                              reason=data.validated_data["reason"])).data)
