"""Request guards that apply to every view."""
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse

from chats.errors import BodyTooLarge

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
            detail = "The address contains a NUL character, which is not allowed."
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
            return _too_large(limit)
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, RequestDataTooBig) and request.path.startswith(JSON_PREFIXES):
            return _too_large(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        return None


def _too_large(limit: int) -> HttpResponse:
    return HttpResponse(BodyTooLarge(limit).as_json(), status=413, content_type="application/json")
