"""Request guards that apply to every view."""
import logging
from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.urls import Resolver404, resolve
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from chats.errors import BodyTooLarge
from chats.inbox.language import activate_user_language

NUL = "\x00"


class RejectNulCharactersMiddleware:
    """Refuse a NUL character in the path or query string with a clear 400.

    PostgreSQL cannot store or compare NUL in text, so such input would otherwise
    reach the database and fail there as a server error. Form fields and API
    serializers already refuse NUL in bodies (Django's ProhibitNullCharactersValidator).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if NUL in request.path or any(NUL in key or any(NUL in v for v in values) for key, values in request.GET.lists()):
            detail = _early(request, _("The address contains a NUL character, which is not allowed."))
            if request.path.startswith("/api/"):
                return JsonResponse({"code": "invalid", "detail": detail}, status=400)
            return HttpResponseBadRequest(detail, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


JSON_PREFIXES = ("/api/", "/webhooks/")


class JsonBodyTooLargeMiddleware:
    """Under /api/ and /webhooks/, a body over DATA_UPLOAD_MAX_MEMORY_SIZE answers 413 with
    `{"code": "too_large", "detail"}`, as the webhook's acknowledgement does (chats/ingress/ack.py).

    Refused on its declared Content-Length before anything is read; a body without one is
    refused when Django's read passes the limit (RequestDataTooBig). Elsewhere Django's own
    400 page stands.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        declared = request.META.get("CONTENT_LENGTH") or ""
        if (limit is not None and request.path.startswith(JSON_PREFIXES) and declared.isdigit()
                and int(declared) > limit):
            return _too_large(limit, request)
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, RequestDataTooBig) and request.path.startswith(JSON_PREFIXES):
            return _too_large(settings.DATA_UPLOAD_MAX_MEMORY_SIZE, request)
        return None


def _too_large(limit: int, request) -> HttpResponse:
    with translation.override(translation.get_language_from_request(request)):
        body = BodyTooLarge(limit).as_json()
    return HttpResponse(body, status=413, content_type="application/json")


def _early(request, text) -> str:
    """`text` in the request's Accept-Language, for answers given before LocaleMiddleware has run."""
    with translation.override(translation.get_language_from_request(request)):
        return str(text)


API_PREFIX = "/api/"
# Codes for the statuses Django or a library may answer under /api/ without our handler.
_STATUS_CODES = {400: "invalid", 401: "not_authenticated", 403: "permission_denied", 404: "not_found",
                 405: "method_not_allowed", 406: "not_acceptable", 413: "too_large", 415: "unsupported_media_type",
                 429: "throttled", 500: "server_error"}
# In the caller's language (HTTP's own phrases, translated); another status keeps HTTP's English phrase.
_STATUS_DETAILS = {400: _("Bad Request."), 401: _("Unauthorized."), 403: _("Forbidden."),
                   404: _("Not Found."), 405: _("Method Not Allowed."), 406: _("Not Acceptable."),
                   413: _("Request Entity Too Large."), 415: _("Unsupported Media Type."),
                   429: _("Too Many Requests."), 500: _("Internal Server Error.")}
request_logger = logging.getLogger("django.request")


class ApiJsonMiddleware:
    """Every answer under /api/ is JSON `{"code", "detail"}` (docs/api.md, "Errors").

    Our views answer through DRF and chats/api/errors.py; this covers what never reaches them:
    an unknown path or a non-integer id (the URL resolver's 404), a path without its trailing
    slash (served as the slashed route: a 301 would make clients drop a POST's body), and an
    unexpected error (500 `server_error`, logged with its trace, which the client never sees).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith(API_PREFIX):
            return self.get_response(request)
        if not request.path_info.endswith("/"):
            try:
                resolve(request.path_info + "/")
            except Resolver404:
                pass
            else:
                request.path_info += "/"
                request.path += "/"
        response = self.get_response(request)
        if response.status_code >= 400 and not response.get("Content-Type", "").startswith("application/json"):
            response = _as_json(response)
        if limit := getattr(request, "rate_limit", None):  # noted by chats/api/throttles.py
            for header, value in zip(("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"), limit):
                response[header] = str(value)
        return response

    def process_exception(self, request, exception):
        if not request.path_info.startswith(API_PREFIX) or isinstance(exception, RequestDataTooBig):
            return None
        request_logger.error("Internal Server Error: %s", request.path, exc_info=exception,
                             extra={"status_code": 500, "request": request})
        return JsonResponse({"code": "server_error", "detail": _("Something went wrong on our side; it is logged.")},
                            status=500)


def _as_json(response: HttpResponse) -> JsonResponse:
    status = response.status_code
    code = _STATUS_CODES.get(status, "error")
    detail = _STATUS_DETAILS.get(status) or (
        HTTPStatus(status).phrase + "." if status in HTTPStatus._value2member_map_ else _("Error."))
    converted = JsonResponse({"code": code, "detail": detail}, status=status)
    for header in ("Allow", "Retry-After", "WWW-Authenticate"):
        if header in response:
            converted[header] = response[header]
    return converted


class UserLanguageMiddleware:
    """After LocaleMiddleware (Accept-Language) and authentication: a signed-in user's own
    language, when they picked one, wins over the browser's. API token users get theirs from
    chats/api/authentication.py, once DRF knows who they are."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        activate_user_language(request=request, user=request.user)
        return self.get_response(request)
