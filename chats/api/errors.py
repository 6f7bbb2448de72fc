"""The one place that turns every API error into `{"code", "detail"}` with its HTTP status.

Domain errors (chats/errors.py) are plain exceptions; their status is decided here, by class.
"""
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from chats.errors import (
    BodyTooLarge, Conflict, ConsentRefused, DomainError, Gone, IdempotencyKeyReused, NotFound, RestrictedPhrasesFound,
    SendRefused,
)

# Most specific first: the first class an error is an instance of decides its status.
DOMAIN_STATUS = (
    (NotFound, status.HTTP_404_NOT_FOUND),
    (Gone, status.HTTP_410_GONE),
    (BodyTooLarge, status.HTTP_413_REQUEST_ENTITY_TOO_LARGE),
    (SendRefused, status.HTTP_409_CONFLICT),
    (ConsentRefused, status.HTTP_409_CONFLICT),
    (Conflict, status.HTTP_409_CONFLICT),
    (RestrictedPhrasesFound, status.HTTP_422_UNPROCESSABLE_ENTITY),
    (IdempotencyKeyReused, status.HTTP_422_UNPROCESSABLE_ENTITY),
    (DomainError, status.HTTP_400_BAD_REQUEST),
)


class LicenseRequired(exceptions.PermissionDenied):
    default_detail = _("Chat needs the Engage license; ask your administrator.")
    default_code = "license_required"


def _code_of(exc: exceptions.APIException, fallback: str) -> str:
    codes = exc.get_codes()
    return codes if isinstance(codes, str) else fallback


def domain_status(exc: DomainError) -> int:
    return next(code for cls, code in DOMAIN_STATUS if isinstance(exc, cls))


def exception_handler(exc, context):
    """DRF EXCEPTION_HANDLER: every error as JSON `{"code", "detail", ...}`.

    Returns None (a real 500) only for exceptions that are bugs, never for bad input.
    """
    headers = {}
    if isinstance(exc, NotFound | Http404 | exceptions.NotFound):
        body, status_code = {"code": "not_found", "detail": _("Not found.")}, 404
    elif isinstance(exc, DomainError):
        body, status_code = {"code": exc.code, "detail": exc.detail, **exc.extra}, domain_status(exc)
    elif isinstance(exc, DjangoPermissionDenied):
        body, status_code = {"code": "permission_denied", "detail": str(exc) or _("Permission denied.")}, 403
    elif isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        # Session auth comes first in the settings, which would make DRF answer 403;
        # an unauthenticated client is told 401 and how to authenticate.
        code = "not_authenticated" if isinstance(exc, exceptions.NotAuthenticated) else "authentication_failed"
        body, status_code = {"code": code, "detail": str(exc.detail)}, 401
        headers["WWW-Authenticate"] = "Token"
    elif isinstance(exc, exceptions.ValidationError):
        errors = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        body, status_code = {"code": "invalid", "detail": _("The request is not valid."), "errors": errors}, 400
    elif isinstance(exc, exceptions.APIException):
        body = {"code": _code_of(exc, exc.default_code), "detail": str(exc.detail)}
        status_code = exc.status_code
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
    else:
        return None
    set_rollback()
    return Response(body, status=status_code, headers=headers)
