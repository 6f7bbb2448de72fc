"""Retention redacts bodies past the limit only; rows, statuses and event rows stay; a second run does nothing."""
import datetime

import pytest
import time_machine
from django.conf import settings

from chats.compliance.retention import redact_expired_bodies
from chats.compliance.tasks import redact_expired_bodies_task
from chats.models import AuditEvent, Message, WebhookEvent
from consent.models import ConsentEvent
from tests.api.conftest import MessageFactory

pytestmark = pytest.mark.django_db
UTC = datetime.UTC
NOW = datetime.datetime(2026, 6, 30, 12, tzinfo=UTC)


def made_at(when, **fields):
    with time_machine.travel(when, tick=False):
        return MessageFactory(**fields)


@pytest.fixture
def messages(two_hcps):
    thread = two_hcps["ada"]["thread"]
    old = made_at(NOW - datetime.timedelta(days=91), thread=thread, body="Old news about Cholecap",
                  status="read", read_at=NOW - datetime.timedelta(days=91), kind="template",
                  template_variables={"1": "Dr. Ada"}, wamid="wamid.OLD")
    old_media = made_at(NOW - datetime.timedelta(days=200), thread=thread, direction="inbound", status="received",
                        kind="inbound_media", body="caption", media={"id": "MEDIA1", "mime_type": "image/jpeg",
                                                                     "caption": "my scan", "profile_name": "Ada"})
    fresh = made_at(NOW - datetime.timedelta(days=89), thread=thread, body="Still within the limit",
                    template_variables={"1": "Dr. Ada"})
    return {"old": old, "old_media": old_media, "fresh": fresh}


def test_only_rows_past_the_limit_are_redacted(messages, settings):
    settings.MESSAGE_BODY_RETENTION_DAYS = 90
    events_before = (AuditEvent.objects.count(), ConsentEvent.objects.count())
    trail_before = list(AuditEvent.objects.order_by("id").values("id", "kind", "details"))
    with time_machine.travel(NOW, tick=False):
        result = redact_expired_bodies()
    old, old_media, fresh = (Message.objects.get(pk=messages[k].pk) for k in ("old", "old_media", "fresh"))
    # past the limit: text gone, ids kept
    assert (old.body, old.template_variables) == ("[redacted after 90 days]", {})
    assert old_media.body == "[redacted after 90 days]" and old_media.media == {"id": "MEDIA1"}
    # the rows keep what the trail needs: status, timestamps, wamid, kind
    assert (old.status, old.wamid, old.kind, old.read_at) == ("read", "wamid.OLD", "template", messages["old"].read_at)
    # within the limit: untouched
    assert (fresh.body, fresh.template_variables) == ("Still within the limit", {"1": "Dr. Ada"})
    # event rows are untouched; one audit row more says what the run did
    assert ConsentEvent.objects.count() == events_before[1]
    assert list(AuditEvent.objects.filter(id__in=[r["id"] for r in trail_before]).order_by("id")
                .values("id", "kind", "details")) == trail_before
    run = AuditEvent.objects.get(kind=AuditEvent.Kind.RETENTION_REDACTED)
    assert run.details["redacted"] == 2 == result["redacted"]
    assert run.details["cutoff"] == (NOW - datetime.timedelta(days=90)).isoformat()
    assert AuditEvent.objects.count() == events_before[0] + 1


def test_a_second_run_changes_nothing(messages, settings):
    settings.MESSAGE_BODY_RETENTION_DAYS = 90
    with time_machine.travel(NOW, tick=False):
        assert redact_expired_bodies(batch_size=1)["redacted"] == 2  # batches of one: the loop ends too
        snapshot = list(Message.objects.order_by("id").values())
        audit_rows = AuditEvent.objects.count()
        assert redact_expired_bodies()["redacted"] == 0
    assert list(Message.objects.order_by("id").values()) == snapshot
    assert AuditEvent.objects.count() == audit_rows  # a run that redacts nothing writes no row


def test_zero_keeps_everything(messages, settings):
    settings.MESSAGE_BODY_RETENTION_DAYS = 0
    with time_machine.travel(NOW, tick=False):
        assert redact_expired_bodies() == {"redacted": 0, "webhooks_redacted": 0, "cutoff": None}
    assert Message.objects.get(pk=messages["old"].pk).body == "Old news about Cholecap"


def test_processed_raw_webhooks_past_the_limit_lose_their_body(messages, settings):
    settings.MESSAGE_BODY_RETENTION_DAYS = 90
    with time_machine.travel(NOW - datetime.timedelta(days=100), tick=False):
        old_hook = WebhookEvent.objects.create(body=b'{"text": "Old news"}', processed_at=NOW)
        pending = WebhookEvent.objects.create(body=b'{"text": "not processed yet"}')
    with time_machine.travel(NOW, tick=False):
        assert redact_expired_bodies_task.delay().get()["webhooks_redacted"] == 1
    assert bytes(WebhookEvent.objects.get(pk=old_hook.pk).body) == b'{"redacted": true}'
    assert bytes(WebhookEvent.objects.get(pk=pending.pk).body) == b'{"text": "not processed yet"}'


def test_the_task_runs_daily_from_beat():
    entry = settings.CELERY_BEAT_SCHEDULE["redact-expired-message-bodies"]
    assert entry["task"] == redact_expired_bodies_task.name
    assert entry["schedule"] == 24 * 3600.0


def test_an_hcps_stored_file_is_deleted_with_its_body(two_hcps, settings):
    from django.core.files.base import ContentFile

    from chats.media.storage import inbound_media_storage
    from tests.whatsapp.conftest import run_on_commit

    # given: an HCP's photo fetched and stored 200 days ago
    name = inbound_media_storage().save("2025/12/1-MEDIA2.jpg", ContentFile(b"\xff\xd8 scan \xff\xd9"))
    photo = made_at(NOW - datetime.timedelta(days=200), thread=two_hcps["ada"]["thread"], direction="inbound",
                    status="received", kind="inbound_media", body="my scan",
                    media={"id": "MEDIA2", "type": "image", "status": "ready", "stored_name": name, "size": 11})
    settings.MESSAGE_BODY_RETENTION_DAYS = 90
    # when: retention runs
    with time_machine.travel(NOW, tick=False), run_on_commit():
        redact_expired_bodies()
    # then: the file is gone from storage, and the message says why it has none
    assert not inbound_media_storage().exists(name)
    photo.refresh_from_db()
    assert photo.media == {"id": "MEDIA2", "status": "failed", "failure_code": "retention",
                           "failure": "removed after 90 days"}
