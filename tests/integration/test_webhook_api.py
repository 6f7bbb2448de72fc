"""Webhook subscriptions through the API, for the integration itself: list, subscribe (the signing secret
shown once), rotate the secret, delete; the same URL rules as admin; each integration sees only its own."""
import pytest
from django.test import TestCase
from standardwebhooks.webhooks import Webhook

from chats.integration.credentials import WEBHOOK_SUBSCRIPTIONS_MAX
from chats.integration.feed import changes_record
from chats.models import AuditEvent, WebhookDelivery, WebhookSubscription
from tests.integration.conftest import make_integration
from tests.integration.receiver import Receiver

pytestmark = pytest.mark.django_db
HOOKS = "/api/v1/integration/webhooks/"


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def subscribe(client, url, types=("message.created",)):
    return client.post(HOOKS, {"url": url, "event_types": list(types)}, format="json")


def test_an_integration_subscribes_and_its_deliveries_verify_with_the_secret_shown_once(receiver):
    integration, crm = make_integration("events:read")
    # when: the CRM subscribes its receiver
    response = subscribe(crm, receiver.url, ["message.created", "message.status"])
    # then: 201 with the secret, once; the list shows the subscription without it
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["secret"].startswith("whsec_") and created["event_types"] == ["message.created", "message.status"]
    listed = crm.get(HOOKS).json()["results"]
    assert [(s["id"], s["url"], s["is_active"]) for s in listed] == [(created["id"], receiver.url, True)]
    assert "secret" not in listed[0]
    # and a change is posted, signed with that secret
    with TestCase.captureOnCommitCallbacks(execute=True):
        changes_record([("message.created", {"thread": 7, "message": {"id": 1}})])
    [(headers, body)] = receiver.received
    assert Webhook(created["secret"]).verify(body, headers)["type"] == "message.created"
    audit = AuditEvent.objects.get(kind="integration.credential", details__action="webhook_subscribed")
    assert audit.actor == integration.user and audit.details["url"] == receiver.url


def test_rotating_the_secret_signs_the_next_delivery_with_the_new_one(receiver):
    _, crm = make_integration("events:read")
    first = subscribe(crm, receiver.url).json()
    rotated = crm.post(f"{HOOKS}{first['id']}/rotate-secret/")
    assert rotated.status_code == 200 and rotated.json()["secret"] not in ("", first["secret"])
    with TestCase.captureOnCommitCallbacks(execute=True):
        changes_record([("message.created", {"thread": 7, "message": {"id": 1}})])
    [(headers, body)] = receiver.received
    Webhook(rotated.json()["secret"]).verify(body, headers)
    with pytest.raises(Exception):
        Webhook(first["secret"]).verify(body, headers)
    assert AuditEvent.objects.filter(details__action="webhook_secret_rotated").count() == 1


def test_delete_ends_the_subscription_and_its_log(receiver):
    integration, crm = make_integration("events:read")
    created = subscribe(crm, receiver.url).json()
    receiver.script = [(500, 0)]
    with TestCase.captureOnCommitCallbacks(execute=True):
        changes_record([("message.created", {"thread": 7, "message": {"id": 1}})])
    assert WebhookDelivery.objects.get().status == "pending"
    # when
    response = crm.delete(f"{HOOKS}{created['id']}/")
    # then
    assert response.status_code == 204
    assert not WebhookSubscription.objects.exists() and not WebhookDelivery.objects.exists()
    assert crm.get(HOOKS).json()["results"] == []
    assert crm.delete(f"{HOOKS}{created['id']}/").status_code == 404
    audit = AuditEvent.objects.get(details__action="webhook_unsubscribed")
    assert audit.actor == integration.user and audit.details["subscription"] == created["id"]


def test_an_integration_sees_and_touches_only_its_own_subscriptions(receiver):
    _, veeva = make_integration("events:read", name="Veeva")
    _, other = make_integration("events:read", name="Other CRM")
    theirs = subscribe(other, receiver.url).json()
    assert veeva.get(HOOKS).json()["results"] == []
    assert veeva.delete(f"{HOOKS}{theirs['id']}/").json()["code"] == "not_found"
    assert veeva.post(f"{HOOKS}{theirs['id']}/rotate-secret/").status_code == 404
    assert WebhookSubscription.objects.get().pk == theirs["id"]
    assert not AuditEvent.objects.filter(details__action__in=["webhook_unsubscribed", "webhook_secret_rotated"]).exists()


@pytest.mark.parametrize("body,code,field", [
    ({"url": "http://127.0.0.1:9/hook", "event_types": ["message.created"]}, "webhook_url_refused", None),
    ({"url": "http://10.0.0.8/hook", "event_types": ["message.created"]}, "webhook_url_refused", None),
    ({"url": "ftp://example.com/x", "event_types": ["message.created"]}, "webhook_url_refused", None),
    ({"url": "https://example.com/x", "event_types": ["message.deleted"]}, "invalid", "event_types"),
    ({"url": "https://example.com/x", "event_types": []}, "invalid", "event_types"),
    ({"url": "https://example.com/x"}, "invalid", "event_types"),
], ids=["loopback", "private", "not-http", "unknown-type", "no-types", "types-missing"])
def test_bad_subscriptions_are_400_with_the_reason(settings, body, code, field):
    settings.INTEGRATION_WEBHOOK_ALLOW_PRIVATE = False
    _, crm = make_integration("events:read")
    response = crm.post(HOOKS, body, format="json")
    assert response.status_code == 400 and response.json()["code"] == code, response.json()
    if field:
        assert field in response.json()["errors"]
    assert not WebhookSubscription.objects.exists()


def test_an_integration_keeps_a_bounded_number_of_subscriptions(receiver):
    _, crm = make_integration("events:read")
    for _ in range(WEBHOOK_SUBSCRIPTIONS_MAX):
        assert subscribe(crm, receiver.url).status_code == 201
    response = subscribe(crm, receiver.url)
    assert response.status_code == 400 and response.json()["code"] == "too_many_subscriptions"


def test_webhooks_need_the_events_scope(receiver):
    _, crm = make_integration("accounts:write")
    assert crm.get(HOOKS).status_code == 403
    assert subscribe(crm, receiver.url).json()["code"] == "scope_required"


def test_the_list_costs_the_same_queries_whatever_its_size(receiver, django_assert_num_queries):
    _, crm = make_integration("events:read")
    subscribe(crm, receiver.url)
    with django_assert_num_queries(2):  # the token, the page
        crm.get(HOOKS)
    for _ in range(5):
        subscribe(crm, receiver.url)
    with django_assert_num_queries(2):
        assert len(crm.get(HOOKS).json()["results"]) == 6
