"""Malformed webhook bodies, signed or not, never answer 500 and never store a message."""
import json

import pytest
from django.conf import settings
from django.test import Client
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from chats.models import Message
from chats.whatsapp import signatures
from tests.whatsapp.conftest import run_on_commit

FUZZ = hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
VALID = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
    "messaging_product": "whatsapp", "metadata": {"display_phone_number": "1", "phone_number_id": "1"},
    "messages": [{"from": "447700900001", "id": "wamid.F", "timestamp": "1700000000", "type": "text",
                  "text": {"body": "hi"}}]}}]}]}
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
                           max_leaves=20)


def _post(body: bytes, signature: str | None):
    headers = {"HTTP_X_HUB_SIGNATURE_256": signature} if signature is not None else {}
    with run_on_commit():
        return Client().post("/webhooks/whatsapp/", data=body, content_type="application/json", **headers)


def _signed(body: bytes):
    return _post(body, signatures.sign(body, settings.WHATSAPP_APP_SECRET))


@pytest.mark.django_db
@FUZZ
@given(st.binary(max_size=2048))
def test_random_bytes_signed_or_not(body):
    assert _post(body, None).status_code == 401
    assert _post(body, "sha256=" + "0" * 64).status_code == 403
    assert _signed(body).status_code == 200  # a signed body is stored; garbage is recorded, not ingested
    assert not Message.objects.exists()


@pytest.mark.django_db
@FUZZ
@given(st.integers(min_value=0, max_value=len(json.dumps(VALID)) - 1))
def test_truncated_json(cut):
    assert _signed(json.dumps(VALID).encode()[:cut]).status_code == 200
    assert not Message.objects.exists()


@pytest.mark.django_db
@FUZZ
@given(json_values, st.sampled_from(["object", "entry", "changes", "value", "messages", "metadata", "message"]))
def test_wrong_types_anywhere(value, where):
    body = json.loads(json.dumps(VALID))
    change = body["entry"][0]["changes"][0]
    targets = {"object": (body, "object"), "entry": (body, "entry"), "changes": (body["entry"][0], "changes"),
               "value": (change, "value"), "messages": (change["value"], "messages"),
               "metadata": (change["value"], "metadata"), "message": (change["value"]["messages"], 0)}
    parent, key = targets[where]
    parent[key] = value
    assert _signed(json.dumps(body).encode()).status_code == 200
    # the number is unknown: a well-formed message is kept unrouted; a malformed one is never stored
    assert not Message.objects.exclude(thread__isnull=True).exists()


@pytest.mark.django_db
def test_huge_body_is_refused_or_stored_never_500():
    body = b'{"object": "whatsapp_business_account", "entry": [' + b'{"id": "1"},' * 300_000 + b'{}]}'
    # over DATA_UPLOAD_MAX_MEMORY_SIZE Django answers 400 before anything is read or stored
    assert _post(body, None).status_code in (400, 401, 413)
    assert _signed(body).status_code in (200, 400, 413)
    assert not Message.objects.exists()
