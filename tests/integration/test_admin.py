"""Admin: an integration created with its token shown once, rotated, revoked; a webhook subscribed with its
secret shown once; the delivery log with its attempts and replay."""
import re

import pytest
from django.test import TestCase

from chats.integration.credentials import webhook_subscribe
from chats.integration.feed import changes_record
from chats.models import AuditEvent, Integration, WebhookDelivery, WebhookSubscription
from tests.factories import UserFactory
from tests.integration.conftest import integration_client, make_integration
from tests.integration.receiver import Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="admin", is_staff=True, is_superuser=True))
    return client


def shown(response, label):
    return re.search(rf"<strong>{label}</strong><br><code[^>]*>([^<]+)</code>", response.content.decode()).group(1)


def test_admin_creates_an_integration_and_sees_its_token_once(admin_client):
    response = admin_client.post("/admin/chats/integration/add/", {"name": "Veeva", "scopes": ["accounts:write"]})
    assert response.status_code == 200
    token = shown(response, "token")
    integration = Integration.objects.get(name="Veeva")
    assert integration.scopes == ["accounts:write"] and token not in str(integration.__dict__)
    assert integration_client(token).get("/api/v1/integration/accounts/").status_code == 200
    assert token not in admin_client.get(f"/admin/chats/integration/{integration.pk}/change/").content.decode()
    # rotate: a new token shown, the old one refused
    rotated = admin_client.post("/admin/chats/integration/", {"action": "rotate_token", "_selected_action": [integration.pk]})
    new_token = shown(rotated, "token")
    assert integration_client(token).get("/api/v1/integration/accounts/").status_code == 401
    assert integration_client(new_token).get("/api/v1/integration/accounts/").status_code == 200
    admin_client.post("/admin/chats/integration/", {"action": "revoke_token", "_selected_action": [integration.pk]})
    assert integration_client(new_token).get("/api/v1/integration/accounts/").status_code == 401


def test_admin_subscribes_a_webhook_and_replays_a_delivery(admin_client):
    receiver = Receiver()
    try:
        admin_client.post("/admin/chats/integration/add/", {"name": "Veeva", "scopes": ["events:read"]})
        integration = Integration.objects.get()
        response = admin_client.post("/admin/chats/webhooksubscription/add/", {
            "integration": integration.pk, "url": receiver.url, "event_types": ["message.status"], "is_active": "on"})
        assert shown(response, "webhook_secret").startswith("whsec_")
        receiver.script = [(500, 0)]
        with TestCase.captureOnCommitCallbacks(execute=True):
            changes_record([("message.status", {"thread": 3, "message": {"id": 9}})])
        delivery = WebhookDelivery.objects.get()
        log = admin_client.get(f"/admin/chats/webhookdelivery/{delivery.pk}/change/").content.decode()
        assert "500" in log and "receiver is down" in log
        with TestCase.captureOnCommitCallbacks(execute=True):
            admin_client.post("/admin/chats/webhookdelivery/", {"action": "replay", "_selected_action": [delivery.pk]})
        delivery.refresh_from_db()
        assert delivery.status == "delivered" and delivery.attempt_log.count() == 2
    finally:
        receiver.close()


def test_admin_deleting_a_subscription_is_audited(admin_client):
    integration, _ = make_integration("events:read")
    subscription, _ = webhook_subscribe(integration=integration, url="http://127.0.0.1:9/hook",
                                        event_types=["message.status"], actor=None)
    # when: the admin deletes it (the bulk action)
    admin_client.post("/admin/chats/webhooksubscription/", {
        "action": "delete_selected", "_selected_action": [subscription.pk], "post": "yes"})
    # then: it is gone, and the trail names the admin
    assert not WebhookSubscription.objects.exists()
    row = AuditEvent.objects.get(details__action="webhook_unsubscribed")
    assert row.actor.username == "admin" and row.details["subscription"] == subscription.pk
