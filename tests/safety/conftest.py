"""The drug-safety world: the demo's lexicon, an HCP writing to Alex's own number through the signed webhook."""
import uuid
from datetime import datetime, timezone as dt_timezone

import pytest

from chats.models import Message, SafetyTerm
from chats.whatsapp import bodies
from tests.api.conftest import api_client  # noqa: F401  (re-exported)
from tests.whatsapp.conftest import _fast_passwords, ada, alex, blair, post_webhook, solo_number, text_body  # noqa: F401

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=dt_timezone.utc)

TERMS = [
    ("term", "en", "side effect", "contains"), ("term", "en", "adverse", "contains"), ("term", "en", "rash", "exact"),
    ("term", "en", r"hospitali[sz](ed|ation)", "regex"), ("term", "fr", "effet indésirable", "contains"),
    ("product", "en", "Cholecap", "exact"),
]


@pytest.fixture
def lexicon(db):
    return [SafetyTerm.objects.create(kind=k, language=lang, phrase=p, match_type=m) for k, lang, p, m in TERMS]


def hcp_writes(client, *, number, account, text: str, wamid: str | None = None) -> Message:
    wamid = wamid or f"wamid.S.{uuid.uuid4().hex}"
    assert post_webhook(client, text_body(number=number, account=account, text=text, wamid=wamid)).status_code == 200
    return Message.objects.get(wamid=wamid)


def hcp_sends(client, *, number, account, wa_type: str, content: dict) -> Message:
    """Any other kind of HCP message, as Meta posts it: `content` is the `messages[].<type>` object."""
    wamid = f"wamid.S.{uuid.uuid4().hex}"
    body = bodies.media_message_body(waba_id=number.waba.waba_id, phone_number_id=number.phone_number_id,
                                     display_phone_number=number.display_phone_number, wa_from=account.wa_id,
                                     wa_type=wa_type, media=content, wamid=wamid)
    assert post_webhook(client, body).status_code == 200
    return Message.objects.get(wamid=wamid)
