"""Domain errors and the one place that turns every API error into `{"code", "detail"}`.

Business functions raise a `DomainError` carrying a stable code; the API layer never
builds error bodies by hand. Clients branch on `code`, humans read `detail`.
"""
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback


class DomainError(Exception):
    """A rule refused the request. `extra` is merged into the JSON body (e.g. `matches`)."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid_request"

    def __init__(self, code: str | None = None, detail: str = "", *, status_code: int | None = None, **extra):
        self.code = code or self.default_code
        self.detail = detail or self.code.replace("_", " ").capitalize() + "."
        if status_code is not None:
            self.status_code = status_code
        self.extra = extra
        super().__init__(f"{self.code}: {self.detail}")


class SendRefused(DomainError):
    """A send broke a conversation rule (consent, window, lock, template status)."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "send_refused"


class RestrictedPhrasesFound(DomainError):
    """Outbound text holds restricted phrases; `matches` lists each one."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "restricted_phrases"

    def __init__(self, matches: list, detail: str = ""):
        super().__init__(
            self.default_code,
            detail or "The text contains restricted phrases; remove them and try again.",
            matches=[m.as_dict() if hasattr(m, "as_dict") else m for m in matches],
        )


class LicenseRequired(exceptions.PermissionDenied):
    default_detail = "Chat needs the Engage license; ask your administrator."
    default_code = "license_required"


def _code_of(exc: exceptions.APIException, fallback: str) -> str:
    codes = exc.get_codes()
    return codes if isinstance(codes, str) else fallback


def exception_handler(exc, context):
    """DRF EXCEPTION_HANDLER: every error as JSON `{"code", "detail", ...}`.

    Returns None (a real 500) only for exceptions that are bugs, never for bad input.
    """
    headers = {}
    if isinstance(exc, DomainError):
        body, status_code = {"code": exc.code, "detail": exc.detail, **exc.extra}, exc.status_code
    elif isinstance(exc, Http404 | exceptions.NotFound):
        body, status_code = {"code": "not_found", "detail": "Not found."}, 404
    elif isinstance(exc, DjangoPermissionDenied):
        body, status_code = {"code": "permission_denied", "detail": str(exc) or "Permission denied."}, 403
    elif isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        # Session auth comes first in the settings, which would make DRF answer 403;
        # an unauthenticated client is told 401 and how to authenticate.
        code = "not_authenticated" if isinstance(exc, exceptions.NotAuthenticated) else "authentication_failed"
        body, status_code = {"code": code, "detail": str(exc.detail)}, 401
        headers["WWW-Authenticate"] = "Token"
    elif isinstance(exc, exceptions.ValidationError):
        errors = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        body, status_code = {"code": "invalid", "detail": "The request is not valid.", "errors": errors}, 400
    elif isinstance(exc, exceptions.APIException):
        body = {"code": _code_of(exc, exc.default_code), "detail": str(exc.detail)}
        status_code = exc.status_code
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
    else:
        return None
    set_rollback()
    return Response(body, status=status_code, headers=headers)
