"""Request guards that apply to every view."""
from django.http import HttpResponseBadRequest, JsonResponse

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
