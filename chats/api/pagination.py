from rest_framework.pagination import Cursor, CursorPagination, LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param


class PeekLimitOffsetPagination(LimitOffsetPagination):
    """limit/offset without a COUNT: fetch one row more than asked to know if a next page exists.

    A total count over 100,000 accounts would cost more than the page itself.
    """

    default_limit = 50
    max_limit = 200
    # Databases keep 64-bit integers; an offset past any real list is an empty page, not an overflow.
    max_offset = 2**31 - 1

    def get_offset(self, request):
        return min(super().get_offset(request), self.max_offset)

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
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }


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

    def decode_cursor(self, request):
        cursor = super().decode_cursor(request)
        if cursor is None and self._wants_latest(request):
            return Cursor(offset=0, reverse=True, position=None)
        return cursor

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
