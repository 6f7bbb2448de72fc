"""The sandbox's stand-in for Meta's media store: files an HCP "sent" in the simulator, by media id.

Kept on the file system (WHATSAPP_SANDBOX_MEDIA_DIR), so a file the simulator stored in one process
(the `simulate_inbound` command) is served in another (the server's fetch task), as Meta would.
"""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
from pathlib import Path

from django.conf import settings


def _paths(media_id: str) -> tuple[Path, Path] | None:
    if not media_id.isdigit():  # Meta's ids are digits; anything else could climb out of the folder
        return None
    root = Path(settings.WHATSAPP_SANDBOX_MEDIA_DIR)
    return root / media_id, root / f"{media_id}.json"


def sandbox_media_put(*, data: bytes, mime_type: str) -> dict:
    """Store `data` as an HCP's upload; returns what Meta's webhook would say of it (id, mime_type, sha256)."""
    media_id = str(10**15 + secrets.randbelow(9 * 10**15))
    content, info = _paths(media_id)
    content.parent.mkdir(parents=True, exist_ok=True)
    content.write_bytes(data)
    described = {"id": media_id, "mime_type": mime_type,
                 "sha256": base64.b64encode(hashlib.sha256(data).digest()).decode(), "file_size": len(data)}
    info.write_text(json.dumps(described))
    return described


def sandbox_media_info(media_id: str) -> dict | None:
    """What Meta's GET /{media-id} answers for a stored upload (without the url), or None."""
    paths = _paths(media_id)
    if paths is None or not paths[1].is_file():
        return None
    return json.loads(paths[1].read_text())


def sandbox_media_path(media_id: str) -> Path | None:
    paths = _paths(media_id)
    return paths[0] if paths is not None and paths[0].is_file() else None
