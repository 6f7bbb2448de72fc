"""GET /api/v1/messages/{id}/media: an HCP's file, streamed from Rapport's storage to the thread's rep
and to export staff (chats/media/access.py), with headers that keep a browser from running it."""
import mimetypes
import re

from django.http import FileResponse
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from chats.api.docs import NOT_FOUND, UNAUTHENTICATED
from chats.media.access import media_message_for_user
from chats.media.storage import open_stored_media, stored_media_name

# Shown in the page (an <img>, <audio>, <video>); every other type, SVG and HTML first, is a download.
INLINE_TYPES = frozenset({
    "image/jpeg", "image/png", "image/webp", "image/gif",
    "audio/aac", "audio/amr", "audio/mp4", "audio/mpeg", "audio/ogg",
    "video/mp4", "video/3gpp",
})
MIME_RE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
CONTENT_SECURITY_POLICY = "default-src 'none'; sandbox"


def served_content_type(mime_type: str) -> str:
    """The stored MIME type without parameters when it is well formed, else application/octet-stream."""
    base = (mime_type or "").split(";")[0].strip().lower()
    return base if MIME_RE.match(base) else "application/octet-stream"


class MessageMediaView(APIView):
    """One HCP's file, for the rep of its thread or staff who may export the HCP's history."""

    permission_classes = [IsAuthenticated]

    def perform_content_negotiation(self, request, force=False):
        # The answer is the file; errors stay JSON whatever the client accepts.
        return JSONRenderer(), JSONRenderer.media_type

    @extend_schema(
        tags=["threads"],
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The file, with its stored Content-Type; `Content-Disposition` "
                                                 "is `inline` for images, audio and video, `attachment` otherwise."),
            401: UNAUTHENTICATED,
            404: NOT_FOUND,
        },
        description="The file an HCP sent (a message of kind `inbound_media` whose `media.status` is `ready`). "
                    "Only the rep of the message's thread and staff who may export the HCP's history may open it; "
                    "everyone else, and a file not ready, gets 404.",
    )
    def get(self, request, message_id: int):
        message = media_message_for_user(user=request.user, message_id=message_id)
        media = message.media
        content_type = served_content_type(media.get("mime_type", ""))
        filename = media.get("filename") or f"{media.get('type') or 'file'}-{message.pk}" + (
            mimetypes.guess_extension(content_type) or "")
        response = FileResponse(open_stored_media(stored_media_name(message)), content_type=content_type)
        response["Content-Disposition"] = content_disposition_header(content_type not in INLINE_TYPES, filename)
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response["Cache-Control"] = "private, no-store"
        if media.get("size"):
            response["Content-Length"] = str(media["size"])
        return response
