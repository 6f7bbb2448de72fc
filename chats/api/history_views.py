"""GET /api/v1/accounts/{id}/history/: one HCP's whole history for staff, streamed as CSV or JSON."""
import datetime

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from chats.api.docs import INVALID, NOT_FOUND, UNAUTHENTICATED, _error
from chats.compliance.export import FORMATS, history_export_response, may_export_history
from chats.errors import DomainError
from chats.models import Account


class StaffOnly(exceptions.PermissionDenied):
    default_detail = "Only staff who may view HCP accounts in admin may export an HCP's history."
    default_code = "staff_only"


class IsStaff(BasePermission):
    """The admin's rule (chats/compliance/export.py `may_export_history`), not the license:
    compliance staff need no Engage license."""

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False  # IsAuthenticated, listed first, answers 401
        if not may_export_history(user=request.user):
            raise StaffOnly()
        return True


def _day_param(request, name: str) -> datetime.datetime | None:
    text = request.query_params.get(name)
    if not text:
        return None
    try:
        day = datetime.date.fromisoformat(text)
    except ValueError:
        raise DomainError("invalid", _("`%(name)s` must be a date, YYYY-MM-DD.") % {"name": name}) from None
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.UTC)


class AccountHistoryView(APIView):
    permission_classes = [IsAuthenticated, IsStaff]

    def perform_content_negotiation(self, request, force=False):
        # `format` chooses the export, not a DRF renderer; errors are always JSON.
        return JSONRenderer(), JSONRenderer.media_type

    @extend_schema(
        tags=["compliance"],
        summary="Export one HCP's whole history (staff only)",
        description="Every message with its statuses and timestamps, the consent record and consent events, and "
                    "the audit events (routing decisions, link opens, window changes, ...), streamed. One flat row "
                    "per record; `record` says which. `since` and `until` are inclusive days (UTC).",
        parameters=[
            OpenApiParameter("format", str, enum=list(FORMATS), default="csv", description="csv or json (the rows), or zip (history.csv and the files the HCP sent)."),
            OpenApiParameter("since", OpenApiTypes.DATE, required=False, description="First day, inclusive."),
            OpenApiParameter("until", OpenApiTypes.DATE, required=False, description="Last day, inclusive."),
        ],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV with a header row."),
            (200, "application/json"): OpenApiResponse(OpenApiTypes.ANY, description="A JSON array of rows."),
            (200, "application/zip"): OpenApiResponse(
                OpenApiTypes.BINARY, description="history.csv and the HCP's files as media/<message id>-<name>."),
            400: INVALID,
            401: UNAUTHENTICATED,
            403: _error("The user is not staff (`staff_only`).", "staff_only", StaffOnly.default_detail),
            404: NOT_FOUND,
        },
    )
    def get(self, request, account_id: int):
        fmt = request.query_params.get("format", "csv")
        if fmt not in FORMATS:
            raise DomainError("invalid", _("`format` must be csv, json or zip."))
        since, until = _day_param(request, "since"), _day_param(request, "until")
        if until is not None:
            until += datetime.timedelta(days=1)
        account = get_object_or_404(Account, pk=account_id)
        return history_export_response(account=account, fmt=fmt, actor=request.user, since=since, until=until)
