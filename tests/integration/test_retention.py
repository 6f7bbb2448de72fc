"""The change feed and the webhook delivery log are kept INTEGRATION_CHANGE_RETENTION_DAYS: the beat prunes
older changes and settled deliveries (never a pending one), and a cursor from before what is kept is 410."""
from datetime import timedelta

import pytest
import time_machine
from django.test import TestCase
from django.utils import timezone

from chats.integration import webhooks
from chats.integration.credentials import webhook_subscribe
from chats.integration.feed import changes_record
from chats.integration.retention import integration_log_prune
from chats.models import Change, WebhookAttempt, WebhookDelivery
from chats.tasks import prune_integration_log_task
from tests.integration.conftest import make_integration
from tests.integration.receiver import Receiver
from tests.integration.test_feed import read_all

pytestmark = pytest.mark.django_db


def change(thread: int, message: int):
    with TestCase.captureOnCommitCallbacks(execute=True):
        changes_record([("message.status", {"thread": thread, "message": {"id": message}})])


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def test_changes_older_than_the_retention_are_pruned_and_an_old_cursor_is_410(settings):
    settings.INTEGRATION_CHANGE_RETENTION_DAYS = 30
    _, crm = make_integration("events:read")
    start = timezone.now()
    # given: a client read two changes 40 days ago and kept its cursor; two more came then, and one today
    with time_machine.travel(start - timedelta(days=40)):
        change(thread=1, message=1)
        change(thread=1, message=2)
        _, old_cursor = read_all(crm)
        change(thread=1, message=3)
        change(thread=1, message=4)
        _, recent_cursor = read_all(crm)
    change(thread=1, message=5)
    # when: the beat prunes
    assert prune_integration_log_task() == {"deliveries": 0, "changes": 4}
    # then: today's change is kept; the cursor from before the pruned ones is 410, the one after them is not
    assert [c["data"]["message"]["id"] for c in read_all(crm)[0]] == [5]
    expired = crm.get("/api/v1/integration/changes/", {"cursor": old_cursor})
    assert expired.status_code == 410 and expired.json()["code"] == "cursor_expired"
    assert "updated_since" in expired.json()["detail"]
    assert [c["data"]["message"]["id"] for c in read_all(crm, recent_cursor)[0]] == [5]


def test_the_newest_change_is_kept_so_places_go_on(settings):
    _, crm = make_integration("events:read")
    with time_machine.travel(timezone.now() - timedelta(days=40)):
        change(thread=1, message=1)
        change(thread=1, message=2)
        _, cursor = read_all(crm)
    integration_log_prune()
    assert list(Change.objects.values_list("seq", flat=True)) == [2]
    change(thread=1, message=3)
    # the client that read everything goes on from its cursor
    assert [c["data"]["message"]["id"] for c in read_all(crm, cursor)[0]] == [3]


def test_settled_deliveries_are_pruned_with_their_attempts_but_never_a_pending_one(receiver):
    integration, _ = make_integration("events:read")
    webhook_subscribe(integration=integration, url=receiver.url, event_types=["message.status"], actor=None)
    start = timezone.now()
    receiver.script = [(500, 0)] * 100
    with time_machine.travel(start - timedelta(days=40)):
        change(thread=1, message=1)  # never delivered: given up a day later
    with time_machine.travel(start - timedelta(days=39)):
        webhooks.webhooks_fan_out()
    receiver.script = []
    with time_machine.travel(start - timedelta(days=38)):
        change(thread=2, message=2)  # delivered
    receiver.script = [(500, 0)]
    old = WebhookDelivery.objects.get(change__payload__message__id=1)
    assert old.status == "gave_up"
    with TestCase.captureOnCommitCallbacks(execute=True):
        webhooks.webhook_delivery_replay(delivery=old)  # today, and the receiver is down again: pending
    change(thread=3, message=3)  # delivered today
    assert dict(WebhookDelivery.objects.values_list("change__payload__message__id", "status")) == {
        1: "pending", 2: "delivered", 3: "delivered"}
    # when
    counts = integration_log_prune()
    # then: the old delivered one goes with its attempt; the pending one stays, and so does its change
    # (and every change after it: the feed stays one run)
    assert counts == {"deliveries": 1, "changes": 0}
    assert dict(WebhookDelivery.objects.values_list("change__payload__message__id", "status")) == {
        1: "pending", 3: "delivered"}
    assert WebhookAttempt.objects.filter(delivery__change__payload__message__id=1).count() >= 2
    assert not WebhookAttempt.objects.filter(delivery__change__payload__message__id=2).exists()
    assert WebhookAttempt.objects.count() == WebhookAttempt.objects.filter(delivery__isnull=False).count()
    assert sorted(Change.objects.values_list("payload__message__id", flat=True)) == [1, 2, 3]


def test_the_retention_is_a_setting(settings):
    settings.INTEGRATION_CHANGE_RETENTION_DAYS = 60
    with time_machine.travel(timezone.now() - timedelta(days=40)):
        change(thread=1, message=1)
        change(thread=1, message=2)
    change(thread=1, message=3)
    assert integration_log_prune()["changes"] == 0
