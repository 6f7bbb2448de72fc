"""OpenAPI building blocks: the error responses every endpoint shares, with examples."""
from drf_spectacular.utils import OpenApiExample, OpenApiResponse

from chats.api.serializers import (
    ErrorSerializer, RestrictedPhrasesErrorSerializer, SendUnprocessableSerializer, ValidationErrorSerializer,
)


def _error(description: str, code: str, detail: str, serializer=ErrorSerializer, **extra) -> OpenApiResponse:
    return OpenApiResponse(
        response=serializer,
        description=description,
        examples=[OpenApiExample(code, value={"code": code, "detail": detail, **extra})],
    )


INVALID = _error(
    "The request is not valid (`invalid`, field errors under `errors`).",
    "invalid", "The request is not valid.", ValidationErrorSerializer, errors={"account": ["This field is required."]},
)
UNAUTHENTICATED = _error("No or bad credentials (`not_authenticated`, `authentication_failed`).",
                         "not_authenticated", "Authentication credentials were not provided.")
LICENSE = _error("The user has no Engage license (`license_required`).",
                 "license_required", "Chat needs the Engage license; ask your administrator.")
NOT_FOUND = _error("Not there, or not yours (`not_found`).", "not_found", "Not found.")
RESTRICTED = _error(
    "The text holds restricted phrases (`restricted_phrases`).", "restricted_phrases",
    "The text contains restricted phrases; remove them and try again.", RestrictedPhrasesErrorSerializer,
    matches=[{"start": 10, "end": 19, "phrase": "off-label", "rule": "Off-label claims", "match_type": "contains"}],
)

SEND_UNPROCESSABLE = _error(
    "`restricted_phrases` (the text holds restricted phrases; `matches` lists them), or "
    "`idempotency_key_reused` (the key already made another message; `message` is its id).",
    "restricted_phrases", "The text contains restricted phrases; remove them and try again.",
    SendUnprocessableSerializer,
    matches=[{"start": 10, "end": 19, "phrase": "off-label", "rule": "Off-label claims", "match_type": "contains"}],
)

CHAT_ERRORS = {401: UNAUTHENTICATED, 403: LICENSE}
THROTTLED = _error("A rate limit is used up (`throttled`); `Retry-After` gives the seconds to wait, and "
                   "`X-RateLimit-Limit`, `-Remaining`, `-Reset` come with every answer of this endpoint.",
                   "throttled", "Request was throttled. Expected available in 42 seconds.")
