import json
import os
from pathlib import Path

import pytest

from chats.whatsapp import bodies, signatures
from tests.factories import AccountFactory, PhoneNumberFactory, UserFactory
from tests.whatsapp.fake_graph import start_fake_graph

REPO_ROOT = Path(__file__).resolve().parents[2]
OWN_FIXTURES = Path(__file__).resolve().parent / "fixtures"


def shared_fixtures_dir() -> Path | None:
    """../shared/meta-webhook-fixtures beside the repo (CI), or under RAPPORT_SHARED_DIR."""
    candidates = [REPO_ROOT / ".." / "shared" / "meta-webhook-fixtures"]
    if os.environ.get("RAPPORT_SHARED_DIR"):
        candidates.insert(0, Path(os.environ["RAPPORT_SHARED_DIR"]) / "meta-webhook-fixtures")
    return next((p.resolve() for p in candidates if p.is_dir()), None)


def load_cases(directory: Path) -> list[tuple[str, dict]]:
    cases = []
    for path in sorted(directory.glob("*.json")):
        for name, body in json.loads(path.read_text()).items():
            cases.append((f"{path.stem}:{name}", body))
    return cases


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def fake_graph(settings):
    fake, server = start_fake_graph()
    settings.WHATSAPP_BACKEND = "cloud"
    settings.WHATSAPP_GRAPH_URL = fake.url
    settings.WHATSAPP_API_VERSION = "v26.0"
    settings.WHATSAPP_RETRY_BASE_SECONDS = 0.01
    settings.WHATSAPP_PAIR_BACKOFF_SECONDS = 0.05
    yield fake
    server.shutdown()
    server.server_close()


def post_webhook(client, body: bytes | dict, *, secret: str | None = None, signature: str | None = "sign"):
    """POST a body to the webhook as Meta would, signed with `secret` (the global one by default)."""
    from django.conf import settings

    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {}
    if signature == "sign":
        headers["HTTP_X_HUB_SIGNATURE_256"] = signatures.sign(raw, secret or settings.WHATSAPP_APP_SECRET)
    elif signature is not None:
        headers["HTTP_X_HUB_SIGNATURE_256"] = signature
    with run_on_commit():
        return client.post("/webhooks/whatsapp/", data=raw, content_type="application/json", **headers)


def run_on_commit():
    """Tests run inside a transaction that never commits: run on_commit work (the Celery tasks) as it is queued."""
    from django.test import TestCase

    return TestCase.captureOnCommitCallbacks(execute=True)


@pytest.fixture
def alex(db):
    return UserFactory(username="alex", first_name="Alex", last_name="Morgan")


@pytest.fixture
def blair(db):
    return UserFactory(username="blair", first_name="Blair", last_name="Quinn")


@pytest.fixture
def ada(db, alex, blair):
    """An HCP both reps may see (on her account team)."""
    return AccountFactory(name="Dr. Ada Lovelace", whatsapp_number="+447700900001", team=[alex, blair])


@pytest.fixture
def solo_number(alex):
    return PhoneNumberFactory(phone_number_id="100000000000001", display_phone_number="+1 555 010 0001", reps=[alex])


@pytest.fixture
def shared_number(alex, blair):
    return PhoneNumberFactory(phone_number_id="100000000000002", display_phone_number="+1 555 010 0002",
                              reps=[alex, blair])


def text_body(*, number, account=None, wa_from=None, text="hello", wamid="wamid.T1", ts=1_700_000_000,
              context_wamid="") -> bytes:
    return bodies.text_message_body(
        waba_id=number.waba.waba_id if number else "0",
        phone_number_id=number.phone_number_id if hasattr(number, "phone_number_id") else str(number),
        display_phone_number=getattr(number, "display_phone_number", ""),
        wa_from=wa_from or account.wa_id, text=text, wamid=wamid, timestamp=ts, context_wamid=context_wamid,
    )


def preference_body(*, number, account, value="stop", ts=1_700_000_000) -> bytes:
    return bodies.user_preferences_body(waba_id=number.waba.waba_id, phone_number_id=number.phone_number_id,
                                        display_phone_number=number.display_phone_number, wa_id=account.wa_id,
                                        value=value, timestamp=ts)


def status_body(*, number, wamid, status, ts=1_700_000_100, recipient="447700900001") -> bytes:
    return bodies.status_body(waba_id=number.waba.waba_id, phone_number_id=number.phone_number_id,
                                display_phone_number=number.display_phone_number, wamid=wamid,
                                recipient_id=recipient, status=status, timestamp=ts)


def media_body(*, number, account, wa_type="image", media=None, wamid="wamid.M1", ts=None) -> bytes:
    """An HCP's media message in Meta's shape; `ts` defaults to now (within the days Meta keeps media)."""
    import time

    return bodies.media_message_body(
        waba_id=number.waba.waba_id, phone_number_id=number.phone_number_id,
        display_phone_number=number.display_phone_number, wa_from=account.wa_id, wa_type=wa_type,
        media=media or {}, wamid=wamid, timestamp=ts or int(time.time()))
