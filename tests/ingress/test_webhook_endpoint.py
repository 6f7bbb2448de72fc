"""GET handshake and POST signature checks on /webhooks/whatsapp/."""
import pytest

from chats.models import Message, WebhookEvent
from chats.whatsapp import signatures
from tests.factories import WabaFactory
from tests.whatsapp.conftest import post_webhook, text_body

pytestmark = pytest.mark.django_db


def test_handshake_answers_the_raw_challenge(client, settings):
    settings.WHATSAPP_VERIFY_TOKEN = "let-me-in"
    response = client.get("/webhooks/whatsapp/", {"hub.mode": "subscribe", "hub.verify_token": "let-me-in",
                                                  "hub.challenge": "1158201444"})
    assert response.status_code == 200
    assert response.content == b"1158201444"


@pytest.mark.parametrize("params", [
    {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
    {"hub.mode": "unsubscribe", "hub.verify_token": "let-me-in", "hub.challenge": "1"},
    {"hub.challenge": "1"},
])
def test_handshake_refuses_anything_else(client, settings, params):
    settings.WHATSAPP_VERIFY_TOKEN = "let-me-in"
    response = client.get("/webhooks/whatsapp/", params)
    assert response.status_code == 403
    assert b"1" not in response.content


def test_missing_signature_is_401_and_stores_nothing(client, solo_number, ada):
    response = post_webhook(client, text_body(number=solo_number, account=ada), signature=None)
    assert response.status_code == 401
    assert WebhookEvent.objects.count() == 0 and Message.objects.count() == 0


@pytest.mark.parametrize("signature", ["sha256=" + "0" * 64, "sha1=abc", "garbage", "sha256="])
def test_wrong_signature_is_403_and_stores_nothing(client, solo_number, ada, signature):
    response = post_webhook(client, text_body(number=solo_number, account=ada), signature=signature)
    assert response.status_code == 403
    assert WebhookEvent.objects.count() == 0 and Message.objects.count() == 0


def test_body_signed_with_another_secret_is_403(client, solo_number, ada):
    response = post_webhook(client, text_body(number=solo_number, account=ada), secret="not-our-secret")
    assert response.status_code == 403
    assert WebhookEvent.objects.count() == 0


def test_tampered_body_is_403(client, solo_number, ada, settings):
    body = text_body(number=solo_number, account=ada, text="hello")
    signature = signatures.sign(body, settings.WHATSAPP_APP_SECRET)
    response = post_webhook(client, body.replace(b"hello", b"HELLO"), signature=signature)
    assert response.status_code == 403
    assert Message.objects.count() == 0


def test_a_wabas_own_secret_is_accepted(client, ada, alex, settings):
    from tests.factories import PhoneNumberFactory

    waba = WabaFactory(app_secret="waba-own-secret")
    number = PhoneNumberFactory(waba=waba, reps=[alex])
    response = post_webhook(client, text_body(number=number, account=ada), secret="waba-own-secret")
    assert response.status_code == 200
    assert Message.objects.get().thread.user == alex


def test_a_wabas_own_secret_replaces_the_environments_for_that_wabas_webhooks(client, ada, alex, settings):
    from tests.factories import PhoneNumberFactory

    # given a WABA with a secret of its own, and another that keeps the environment's
    own = PhoneNumberFactory(waba=WabaFactory(app_secret="waba-own-secret"), reps=[alex])
    plain = PhoneNumberFactory(waba=WabaFactory(app_secret=""), reps=[alex])
    # when bodies about the first arrive signed with the environment's secret, or another WABA's
    forged = post_webhook(client, text_body(number=own, account=ada, wamid="wamid.ENV"),
                          secret=settings.WHATSAPP_APP_SECRET)
    # then they are refused and nothing is stored; its own secret still gets in
    assert forged.status_code == 403 and not WebhookEvent.objects.exists()
    assert post_webhook(client, text_body(number=own, account=ada, wamid="wamid.OWN"),
                        secret="waba-own-secret").status_code == 200
    # and the other WABA's webhooks take the environment's secret, not the first WABA's
    assert post_webhook(client, text_body(number=plain, account=ada, wamid="wamid.PLAIN"),
                        secret="waba-own-secret").status_code == 403
    assert post_webhook(client, text_body(number=plain, account=ada, wamid="wamid.PLAIN2"),
                        secret=settings.WHATSAPP_APP_SECRET).status_code == 200
    assert sorted(Message.objects.values_list("wamid", flat=True)) == ["wamid.OWN", "wamid.PLAIN2"]


def test_signed_body_is_stored_raw_and_processed(client, solo_number, ada):
    body = text_body(number=solo_number, account=ada, text="hi there")
    response = post_webhook(client, body)
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert bytes(event.body) == body
    assert event.processed_at is not None and event.error == ""
    assert Message.objects.get().body == "hi there"


def test_signed_non_json_is_kept_and_marked(client):
    response = post_webhook(client, b"not json at all")
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert "not JSON" in event.error and event.processed_at is not None


def test_other_methods_are_refused(client):
    assert client.put("/webhooks/whatsapp/").status_code == 405
