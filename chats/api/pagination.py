import binascii
from base64 import b64decode
from urllib.parse import parse_qs

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.dateparse import parse_datetime
from rest_framework import exceptions
from rest_framework.pagination import Cursor, CursorPagination, LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param


class InvalidCursor(exceptions.APIException):
    status_code = 400
    default_detail = "The cursor is not one this API gave out; start again from the first page."
    default_code = "invalid_cursor"


def page_schema(schema: dict, *, link_example: str | None = None) -> dict:
    """Every paginated answer's shape: `next` and `previous` links (null at either end) and `results`."""
    link = {"type": "string", "nullable": True, "format": "uri"}
    if link_example:
        link["example"] = link_example
    return {"type": "object", "required": ["results"],
            "properties": {"next": link, "previous": dict(link), "results": schema}}


def query_int(request, name: str, *, default: int, minimum: int, maximum: int) -> int:
    """A paging parameter: absent → `default`; digits → the number, at most `maximum`; anything else
    (text, a sign, a decimal point, below `minimum`) → 400 naming it, never silently the default."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) < minimum:
        raise exceptions.ValidationError({name: [f"Give a whole number of at least {minimum}."]})
    return min(int(raw), maximum)


def query_datetime(request, name: str):
    """A moment to filter by: absent → None; ISO 8601 with its offset → the datetime; anything else (a date
    alone, no offset, text) → 400 naming it. A `+` in a query string arrives as a space: read back as `+`."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    value = parse_datetime(raw.replace(" ", "+")) if raw else None
    if value is None or value.tzinfo is None:
        raise exceptions.ValidationError({name: ["Give a date and time with its offset, e.g. 2026-03-01T09:00:00Z."]})
    return value


class PeekLimitOffsetPagination(LimitOffsetPagination):
    """limit/offset without a COUNT: fetch one row more than asked to know if a next page exists.

    A total count over 100,000 accounts would cost more than the page itself.
    """

    default_limit = 50
    max_limit = 200
    # Databases keep 64-bit integers; an offset past any real list is an empty page, not an overflow.
    max_offset = 2**31 - 1

    def get_limit(self, request):
        return query_int(request, self.limit_query_param, default=self.default_limit, minimum=1, maximum=self.max_limit)

    def get_offset(self, request):
        return query_int(request, self.offset_query_param, default=0, minimum=0, maximum=self.max_offset)

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.limit = self.get_limit(request)
        self.offset = self.get_offset(request)
        rows = list(queryset[self.offset : self.offset + self.limit + 1])
        self.has_next = len(rows) > self.limit
        return rows[: self.limit]

    def get_next_link(self):
        if not self.has_next:
            return None
        url = replace_query_param(self.request.build_absolute_uri(), self.limit_query_param, self.limit)
        return replace_query_param(url, self.offset_query_param, self.offset + self.limit)

    def get_paginated_response(self, data):
        return Response({"next": self.get_next_link(), "previous": self.get_previous_link(), "results": data})

    def get_paginated_response_schema(self, schema):
        return page_schema(schema)


class MessageCursorPagination(CursorPagination):
    """Oldest first; the cursor is opaque and stable while new messages arrive.

    `?latest=1` (without a cursor) starts at the other end: the newest page, still in
    chronological order, with `next` null and `previous` pointing back in time. It is DRF's
    own reverse cursor placed after the last message, so `previous` and `next` links from there
    on are ordinary cursors and the query is the same single ordered LIMIT.
    """

    ordering = ("written_at", "id")  # the alias messages_for_thread orders by; rows give Message.written_at
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    latest_query_param = "latest"

    def get_paginated_response_schema(self, schema):
        # DRF's own example of `next` is not a valid URI (a stray quote); ours is.
        return page_schema(schema, link_example="https://rapport.example/api/v1/threads/7/messages/"
                                                "?cursor=cD0yMDI1LTAzLTAxKzA5JTNBMDA%3D")

    def get_page_size(self, request):
        return query_int(request, self.page_size_query_param, default=self.page_size, minimum=1,
                         maximum=self.max_page_size)

    def decode_cursor(self, request):
        """DRF's decoding, strict: anything but the base64 query string we encode is 400 `invalid_cursor`
        (DRF answers 404, which reads as "not yours", and skips characters base64 does not know)."""
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return Cursor(offset=0, reverse=True, position=None) if self._wants_latest(request) else None
        try:
            tokens = parse_qs(b64decode(encoded.encode("ascii"), validate=True).decode("ascii"),
                              keep_blank_values=True, strict_parsing=bool(encoded))
            offset = int(tokens.get("o", ["0"])[0])
            reverse = int(tokens.get("r", ["0"])[0])
            position = tokens.get("p", [None])[0]
        except (TypeError, ValueError, UnicodeError, binascii.Error):
            raise InvalidCursor() from None
        if offset < 0 or reverse not in (0, 1) or set(tokens) - {"o", "r", "p"}:
            raise InvalidCursor()
        return Cursor(offset=min(offset, self.offset_cutoff), reverse=bool(reverse), position=position)

    def paginate_queryset(self, queryset, request, view=None):
        try:
            return super().paginate_queryset(queryset, request, view)
        except (DjangoValidationError, ValueError, TypeError, OverflowError):
            # A well-formed cursor whose position is not a time (a hand-made one): nothing to page from.
            raise InvalidCursor() from None

    def _wants_latest(self, request) -> bool:
        return request.query_params.get(self.latest_query_param, "").lower() in ("1", "true", "yes")

    def encode_cursor(self, cursor):
        # Links carry their own cursor; `latest` would be ignored beside it, so drop it for clarity.
        return remove_query_param(super().encode_cursor(cursor), self.latest_query_param)

    def get_schema_operation_parameters(self, view):
        return [*super().get_schema_operation_parameters(view), {
            "name": self.latest_query_param, "required": False, "in": "query",
            "description": "1 to start with the newest page (in chronological order); follow `previous` to go "
                           "back in time. Ignored when `cursor` is given.",
            "schema": {"type": "boolean"},
        }]
