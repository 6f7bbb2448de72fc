import base64
import hashlib

import pytest

from tests.factories import ThreadFactory
from tests.whatsapp.conftest import ada, alex, blair, fake_graph, media_body, solo_number  # noqa: F401 - the WhatsApp test world

JPEG = b"\xff\xd8\xff\xe0" + b"rapport-test-image" * 20 + b"\xff\xd9"


def b64_sha256(content: bytes) -> str:
    """A file's SHA-256 as Meta writes it in webhooks (base64)."""
    return base64.b64encode(hashlib.sha256(content).digest()).decode()


@pytest.fixture
def media_settings(settings):
    settings.WHATSAPP_MEDIA_RETRY_BASE_SECONDS = 0.01
    settings.WHATSAPP_MEDIA_RETRY_MAX_SECONDS = 0.05
    return settings


@pytest.fixture
def ada_thread(request):
    """Alex's thread with Ada on Alex's own number."""
    rep, hcp, number = (request.getfixturevalue(name) for name in ("alex", "ada", "solo_number"))
    return ThreadFactory(user=rep, account=hcp, phone_number=number)


def send_media(client, *, number, account, wa_type="image", media_id="4470001", content=JPEG, wamid="wamid.M1",
               ts=None, **fields):
    """The HCP's media message through the real webhook path (the fetch task runs after commit)."""
    from tests.whatsapp.conftest import post_webhook

    media = {"id": media_id, "mime_type": fields.pop("mime_type", "image/jpeg"),
             "sha256": fields.pop("sha256", b64_sha256(content)), **fields}
    return post_webhook(client, media_body(number=number, account=account, wa_type=wa_type, media=media,
                                           wamid=wamid, ts=ts))
