"""NUL characters cannot be stored or compared by PostgreSQL; they must be refused as bad input, never a 500."""
import pytest

from tests.factories import AccountFactory, PhoneNumberFactory, ThreadFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rep_client(client):
    rep = UserFactory()
    AccountFactory(team=[rep])
    PhoneNumberFactory(reps=[rep])
    client.force_login(rep)
    return client


@pytest.mark.parametrize("path", [
    "/api/v1/accounts/?search=ada%00",
    "/api/v1/threads/?limit=1%00",
    "/api/v1/templates/?thread=1%00",
    "/hcps/?q=%00",
    "/chats/?q=%00",
])
def test_nul_in_query_string_is_a_clear_400(rep_client, path):
    response = rep_client.get(path)
    assert response.status_code == 400
    if path.startswith("/api/"):
        assert response.json()["code"] == "invalid"


def test_nul_in_json_body_is_a_field_error(rep_client):
    response = rep_client.post("/api/v1/restricted-phrases/check/", {"text": "cure\x00"}, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_webhook_text_with_nul_is_stored_without_it(client, settings):
    import json

    from chats.models import Message
    from chats.whatsapp import bodies
    from tests.whatsapp.conftest import post_webhook

    rep = UserFactory()
    number = PhoneNumberFactory(reps=[rep])
    ada = AccountFactory(team=[rep], whatsapp_number="+447700900321")
    body = json.loads(bodies.text_message_body(
        waba_id=number.waba.waba_id, phone_number_id=number.phone_number_id,
        display_phone_number=number.display_phone_number, wa_from=ada.wa_id, text="hel\x00lo",
        wamid="wamid.NUL1", timestamp=1_700_000_000, context_wamid=""))
    response = post_webhook(client, body)
    assert response.status_code == 200
    assert Message.objects.get(wamid="wamid.NUL1").body == "hello"
