"""Bodies no client should send: nested too deep, or too large. A clear JSON error, never a 500 or HTML."""
import json

import pytest
from django.test import Client

from chats.models import WebhookEvent
from tests.api.conftest import api_client

pytestmark = pytest.mark.django_db

DEEP = "[" * 5000 + "]" * 5000  # 10 KB of brackets: deeper than Python's recursion limit


@pytest.mark.parametrize("path", ["/api/v1/auth/token/", "/api/v1/restricted-phrases/check/"])
def test_a_body_nested_too_deep_answers_400_json(path, alex):
    # given a client, signed in or not
    client = api_client(alex) if "phrases" in path else Client()
    # when it posts JSON nested thousands deep
    response = client.post(path, data=DEEP, content_type="application/json")
    # then a 400 that says why, as JSON
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    assert response.json()["code"] == "parse_error" and "nested too deep" in response.json()["detail"]


def test_a_body_over_the_limit_answers_413_json_on_the_api_and_the_webhook(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    big = json.dumps({"username": "x" * 2000, "password": "y"})
    for path in ("/api/v1/auth/token/", "/webhooks/whatsapp/"):
        response = Client().post(path, data=big, content_type="application/json")
        assert response.status_code == 413, path
        assert response["Content-Type"] == "application/json"
        assert response.json() == {"code": "too_large", "detail": "The request body is over the 1,000-byte limit."}
    assert not WebhookEvent.objects.exists()


def test_a_body_at_the_limit_is_read_as_usual(settings, alex):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    text = json.dumps({"text": "a" * 900})
    response = api_client(alex).post("/api/v1/restricted-phrases/check/", data=text, content_type="application/json")
    assert response.status_code == 200 and response.json() == {"matches": []}


def test_pages_keep_djangos_own_answer(settings, client):
    # outside /api/ and /webhooks/ Django's 400 page stands
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = client.post("/accounts/login/", data={"username": "u" * 2000, "password": "p"})
    assert response.status_code == 400
