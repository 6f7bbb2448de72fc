"""Where inbound media files live: the STORAGES alias `inbound_media` (settings), nothing else.

The file system under WHATSAPP_MEDIA_ROOT by default; any Django storage backend by setting. Files
are read back through this storage only (the media endpoint, the export), never by a public URL.
"""
from __future__ import annotations

from django.core.files.storage import Storage, storages

STORAGE_ALIAS = "inbound_media"


def inbound_media_storage() -> Storage:
    return storages[STORAGE_ALIAS]


def stored_media_name(message) -> str:
    """The stored file's name of an inbound media message whose file is ready, else ""."""
    media = message.media or {}
    return str(media.get("stored_name") or "") if media.get("status") == "ready" else ""


def open_stored_media(name: str):
    """The stored file, opened for binary reading (the caller closes it)."""
    return inbound_media_storage().open(name, "rb")
