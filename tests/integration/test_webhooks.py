"""Outbound webhooks: signed per Standard Webhooks (verified by the library), retried with backoff after 500s
and timeouts, in order per thread, given up after a day and replayable; private addresses refused."""
import json
from datetime import timedelta

import pytest
import time_machine
from django.test import TestCase
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from chats.integration import webhooks
from chats.integration.credentials import webhook_subscribe
from chats.integration.feed import changes_record
from chats.models import WebhookDelivery
from chats.errors import DomainError
from tests.integration.conftest import make_integration
from tests.integration.receiver import Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def subscribed(receiver):
    integration, _ = make_integration("events:read")
    subscription, secret = webhook_subscribe(integration=integration, url=receiver.url,
                                             event_types=["message.created", "message.status"], actor=None)
    return subscription, secret


def change(thread: int, message: int, event_type="message.status"):
    """One committed change, as a writer makes it; its fan-out runs after commit as it would."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        changes_record([(event_type, {"thread": thread, "message": {"id": message}})])


def test_each_change_is_posted_signed_and_the_library_verifies_it(receiver, subscribed):
    subscription, secret = subscribed
    change(thread=7, message=1, event_type="message.created")
    change(thread=7, message=1, event_type="thread.state")  # not subscribed to
    [(headers, body)] = receiver.received
    payload = Webhook(secret).verify(body, headers)  # raises unless the signature and timestamp are right
    assert payload["type"] == "message.created" and payload["data"] == {"thread": 7, "message": {"id": 1}}
    assert payload["thread"] == 7 and payload["cursor"] and payload["timestamp"]
    assert headers["webhook-id"] == WebhookDelivery.objects.get().webhook_id
    with pytest.raises(Exception):
        Webhook("whsec_" + "A" * 44).verify(body, headers)
    assert WebhookDelivery.objects.get().status == "delivered"


def test_a_500_is_retried_with_backoff_and_the_same_webhook_id(receiver, subscribed):
    _, secret = subscribed
    receiver.script = [(500, 0), (503, 0)]
    change(thread=7, message=1)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert 9 <= (delivery.next_attempt_at - timezone.now()).total_seconds() <= 11
    # a sweep before it is due does nothing
    webhooks.webhooks_fan_out()
    assert len(receiver.received) == 1
    with time_machine.travel(timezone.now() + timedelta(seconds=12)):
        webhooks.webhooks_fan_out()  # the beat: second attempt, 503 → next in ~20 s
        delivery.refresh_from_db()
        assert delivery.attempts == 2 and 18 <= (delivery.next_attempt_at - timezone.now()).total_seconds() <= 23
    with time_machine.travel(timezone.now() + timedelta(seconds=40)):
        webhooks.webhooks_fan_out()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 3)
    ids = {headers["webhook-id"] for headers, _ in receiver.received}
    assert len(receiver.received) == 3 and len(ids) == 1
    assert [a.status_code for a in delivery.attempt_log.order_by("id")] == [500, 503, 200]
    assert "receiver is down" in delivery.attempt_log.order_by("id").first().answer


def test_a_timeout_is_retried(receiver, subscribed, settings):
    settings.INTEGRATION_WEBHOOK_TIMEOUT_SECONDS = 0.3
    receiver.script = [(200, 1.0)]  # answers too late
    change(thread=7, message=1)
    delivery = WebhookDelivery.objects.get()
    attempt = delivery.attempt_log.get()
    assert delivery.status == "pending" and attempt.status_code is None and attempt.answer.startswith("timeout")
    with time_machine.travel(timezone.now() + timedelta(seconds=12)):
        webhooks.webhooks_fan_out()
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempts == 2


def test_order_per_thread_holds_while_an_earlier_delivery_waits(receiver, subscribed):
    receiver.script = [(500, 0)]
    change(thread=7, message=1)  # fails: thread 7 waits for it
    change(thread=7, message=2)
    change(thread=8, message=3)  # another thread goes on
    bodies = [json.loads(body)["data"]["message"]["id"] for _, body in receiver.received]
    assert bodies == [1, 3]
    with time_machine.travel(timezone.now() + timedelta(seconds=12)):
        webhooks.webhooks_fan_out()
    bodies = [json.loads(body)["data"]["message"]["id"] for _, body in receiver.received]
    assert bodies == [1, 3, 1, 2]
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered"}


def test_a_receiver_down_for_a_day_loses_nothing_gives_up_and_can_be_replayed(receiver, subscribed):
    receiver.script = [(500, 0)] * 100
    change(thread=7, message=1)
    start = timezone.now()
    for minutes in range(0, 25 * 60, 30):  # the beat, every half hour for a day
        with time_machine.travel(start + timedelta(minutes=minutes, seconds=1)):
            webhooks.webhooks_fan_out()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "gave_up" and 10 <= delivery.attempts <= 40
    receiver.script = []
    with TestCase.captureOnCommitCallbacks(execute=True):
        webhooks.webhook_delivery_replay(delivery=delivery)
    delivery.refresh_from_db()
    assert delivery.status == "delivered"


def test_private_addresses_are_refused_unless_allowed(settings):
    settings.INTEGRATION_WEBHOOK_ALLOW_PRIVATE = False
    integration, _ = make_integration("events:read")
    for url in ("http://127.0.0.1:9/hook", "http://10.0.0.8/hook", "http://169.254.169.254/latest", "http://[::1]/x",
                "ftp://example.com/x"):
        with pytest.raises(DomainError) as refused:
            webhook_subscribe(integration=integration, url=url, event_types=["message.created"], actor=None)
        assert refused.value.code == "webhook_url_refused", url


def test_an_address_that_turned_private_is_refused_at_delivery(receiver, subscribed, settings):
    settings.INTEGRATION_WEBHOOK_ALLOW_PRIVATE = False  # the URL was accepted; now it resolves to loopback
    change(thread=7, message=1)
    delivery = WebhookDelivery.objects.get()
    assert receiver.received == [] and delivery.status == "pending"
    assert delivery.attempt_log.get().answer.startswith("refused:")


def test_the_delivery_connects_to_the_address_it_checked(receiver, subscribed, monkeypatch):
    """A name resolved twice may answer differently the second time (DNS rebinding): the post goes to the
    address the check approved, with the URL's own host in the Host header."""
    import socket
    real = socket.getaddrinfo
    lookups = []
    port = receiver.server.server_address[1]

    def rebinding(host, *args, **kwargs):
        if host != "hooks.example.test":
            return real(host, *args, **kwargs)
        lookups.append(host)
        if len(lookups) > 1:  # the second answer points elsewhere
            raise socket.gaierror("rebound")
        return real("127.0.0.1", *args, **kwargs)

    subscription, _ = subscribed
    subscription.url = f"http://hooks.example.test:{port}/hooks"
    subscription.save(update_fields=["url"])
    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    change(thread=7, message=1)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "delivered", delivery.attempt_log.first().answer
    assert lookups == ["hooks.example.test"]  # resolved once, by the check
    [(headers, _)] = receiver.received
    assert headers["host"] == f"hooks.example.test:{port}"
