"""Outbound webhooks: the change feed fanned out to each subscription, and each delivery posted, signed per
the Standard Webhooks specification, until the receiver answers 2xx.

- Fan-out (`webhooks_fan_out`) reads the feed in commit order from each subscription's `fed_through` and
  makes one WebhookDelivery per (subscription, change): a receiver that is down loses nothing.
- Deliveries of one thread (or one account, for account changes) go one at a time, in feed order: a
  delivery waits while an earlier one of the same key is pending.
- A failed attempt (no answer, a timeout, anything but 2xx) is tried again after 10 s × 2ⁿ (capped at an
  hour, with jitter) until `give_up_at` (a day later); then it is kept as `gave_up`, and an admin may
  replay it. `webhook-id` is the same on every attempt, so a receiver can drop repeats.
"""
from __future__ import annotations

import json
import logging
import random
import time
from datetime import timedelta

import httpx
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from chats import jobs
from chats.integration import feed
from chats.integration.addresses import AddressRefused, check_webhook_url
from chats.models import Change, Integration, WebhookAttempt, WebhookDelivery, WebhookSubscription

logger = logging.getLogger(__name__)

Status = WebhookDelivery.Status
BACKOFF_FIRST_SECONDS = 10
BACKOFF_CAP_SECONDS = 3600
ANSWER_KEPT_CHARACTERS = 500
FAN_OUT_SEQS = 1000
CHAIN_LENGTH = 50


def backoff_seconds(attempts: int) -> float:
    """How long after its `attempts`-th failure a delivery is tried again: 10 s, 20 s, 40 s … an hour, ±10%."""
    base = min(BACKOFF_FIRST_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_CAP_SECONDS)
    return base * random.uniform(0.9, 1.1)


def order_key(change: Change) -> str:
    if change.thread_id is not None:
        return f"thread:{change.thread_id}"
    return f"account:{change.account_id}" if change.account_id is not None else "global"


def _active_subscriptions():
    return WebhookSubscription.objects.filter(is_active=True, integration__revoked_at=None)


# --- fan-out ---------------------------------------------------------------------------


def webhooks_fan_out(*, now=None) -> int:
    """Turn the feed's new changes into deliveries for every active subscription, then start the deliveries
    that are due. Returns how many deliveries were made."""
    cache.delete(feed.FAN_OUT_SCHEDULED)  # a commit from now on wakes another fan-out
    now = now or timezone.now()
    top = feed.latest_seq()
    made = 0
    for subscription_id in _active_subscriptions().values_list("pk", flat=True):
        while True:
            with transaction.atomic():
                subscription = (WebhookSubscription.objects.select_for_update(skip_locked=True, of=("self",))
                                .select_related("integration").filter(pk=subscription_id).first())
                if subscription is None or subscription.fed_through >= top:
                    break  # another fan-out holds it, or it is caught up
                upto = min(top, subscription.fed_through + FAN_OUT_SEQS)
                changes = Change.objects.filter(seq__gt=subscription.fed_through, seq__lte=upto,
                                                type__in=_readable_types(subscription)).order_by("seq")
                rows = [WebhookDelivery(subscription=subscription, change=change, seq=change.seq,
                                        order_key=order_key(change), next_attempt_at=now,
                                        give_up_at=now + timedelta(seconds=settings.INTEGRATION_WEBHOOK_GIVE_UP_SECONDS))
                        for change in changes]
                WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
                made += len(rows)
                WebhookSubscription.objects.filter(pk=subscription.pk).update(fed_through=upto)
    webhook_deliveries_start(now=now)
    return made


def _readable_types(subscription: WebhookSubscription) -> list[str]:
    """The subscription's change types its integration may read now: safety-case changes only while it holds
    `safety:read` (a scope taken away after subscribing stops them; those changes are not sent later)."""
    scopes = subscription.integration.scopes
    return [t for t in subscription.event_types
            if t not in feed.SAFETY_CHANGE_TYPES or Integration.Scope.SAFETY_READ in scopes]


# --- delivering ------------------------------------------------------------------------


def _earlier_pending():
    return WebhookDelivery.objects.filter(subscription_id=OuterRef("subscription_id"), order_key=OuterRef("order_key"),
                                          seq__lt=OuterRef("seq"), status=Status.PENDING)


def _due(now):
    return (WebhookDelivery.objects.filter(status=Status.PENDING, next_attempt_at__lte=now)
            .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
            .exclude(Exists(_earlier_pending())))


def webhook_deliveries_start(*, now=None, limit: int = 500) -> int:
    """Start every delivery that is due and first in line for its key (the beat's safety net, and the
    fan-out's last step). Returns how many were started."""
    now = now or timezone.now()
    due = list(_due(now).order_by("seq").values_list("pk", flat=True)[:limit])
    for delivery_id in due:
        jobs.enqueue(jobs.DELIVER_WEBHOOK, delivery_id)
    return len(due)


def _claim(delivery_id: int, now) -> WebhookDelivery | None:
    """Lease a due delivery that is first in line for its key, counting the attempt; None otherwise."""
    with transaction.atomic():
        delivery = (WebhookDelivery.objects.select_for_update().select_related("subscription", "change")
                    .filter(pk=delivery_id).first())
        if delivery is None or not _due(now).filter(pk=delivery_id).exists():
            return None
        if now >= delivery.give_up_at:
            WebhookDelivery.objects.filter(pk=delivery.pk).update(status=Status.GAVE_UP, leased_until=None)
            return None
        lease = settings.INTEGRATION_WEBHOOK_TIMEOUT_SECONDS + 30
        delivery.attempts += 1
        WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=delivery.attempts,
                                                              leased_until=now + timedelta(seconds=lease))
        return delivery


def webhook_body(change: Change) -> bytes:
    """What is posted: the change as the feed shows it, with the Standard Webhooks `type`/`timestamp`/`data`."""
    fields = feed.change_fields(change)
    return json.dumps({**fields, "timestamp": fields["at"]}, separators=(",", ":")).encode()


def _post(delivery: WebhookDelivery) -> tuple[int | None, str, int]:
    """POST the delivery once: (status code or None, the answer's start or the error, milliseconds)."""
    subscription, body = delivery.subscription, webhook_body(delivery.change)
    started = time.monotonic()
    try:
        pinned = check_webhook_url(subscription.url)  # again: what the name resolves to may have changed
        sent_at = timezone.now()
        headers = {
            "host": pinned.host_header, "content-type": "application/json", "user-agent": "Rapport-Webhooks/1",
            "webhook-id": delivery.webhook_id, "webhook-timestamp": str(int(sent_at.timestamp())),
            "webhook-signature": Webhook(subscription.secret).sign(delivery.webhook_id, sent_at, body),
        }
        with httpx.Client(timeout=settings.INTEGRATION_WEBHOOK_TIMEOUT_SECONDS, follow_redirects=False,
                          trust_env=False) as client:
            # to the checked address; TLS names (and verifies) the URL's host (httpcore's `sni_hostname`)
            request = client.build_request("POST", pinned.url, content=body, headers=headers,
                                           extensions={"sni_hostname": pinned.server_name})
            response = client.send(request)
        code, answer = response.status_code, response.text[:ANSWER_KEPT_CHARACTERS]
    except AddressRefused as exc:
        code, answer = None, f"refused: {exc}"
    except httpx.TimeoutException as exc:
        code, answer = None, f"timeout: {type(exc).__name__}"
    except httpx.HTTPError as exc:
        code, answer = None, f"error: {type(exc).__name__}: {exc}"[:ANSWER_KEPT_CHARACTERS]
    return code, answer, int((time.monotonic() - started) * 1000)


def webhook_deliver(*, delivery_id: int, now=None) -> tuple[str, float | None]:
    """Try one delivery now, if it is due and first in line. Returns (outcome, seconds until the retry):
    `delivered`, `retry`, `gave_up` or `skipped` (not due, leased elsewhere, or waiting its turn)."""
    delivery = _claim(delivery_id, now or timezone.now())
    if delivery is None:
        return "skipped", None
    code, answer, duration = _post(delivery)
    finished = timezone.now()
    with transaction.atomic():
        if not WebhookDelivery.objects.select_for_update().filter(pk=delivery.pk).exists():
            return "skipped", None  # its subscription was deleted while it was being posted
        WebhookAttempt.objects.create(delivery=delivery, status_code=code, answer=answer, duration_ms=duration)
        if code is not None and 200 <= code < 300:
            WebhookDelivery.objects.filter(pk=delivery.pk).update(status=Status.DELIVERED, delivered_at=finished,
                                                                  leased_until=None)
            return "delivered", None
        wait = backoff_seconds(delivery.attempts)
        if finished + timedelta(seconds=wait) >= delivery.give_up_at:
            WebhookDelivery.objects.filter(pk=delivery.pk).update(status=Status.GAVE_UP, leased_until=None)
            logger.warning("webhook delivery %s gave up after %s attempts", delivery.pk, delivery.attempts)
            return "gave_up", None
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            next_attempt_at=finished + timedelta(seconds=wait), leased_until=None)
        return "retry", wait


def webhook_deliver_in_order(*, delivery_id: int) -> tuple[str, float | None]:
    """Deliver this one, then the next ones of its key while they succeed (up to CHAIN_LENGTH, then the
    rest is enqueued). Returns the outcome of the last one tried, and its retry delay."""
    outcome, wait = webhook_deliver(delivery_id=delivery_id)
    for _ in range(CHAIN_LENGTH):
        if outcome not in ("delivered", "gave_up"):
            return outcome, wait
        done = WebhookDelivery.objects.filter(pk=delivery_id).values("subscription_id", "order_key", "seq").first()
        following = (_due(timezone.now()).filter(subscription_id=done["subscription_id"], order_key=done["order_key"],
                                                 seq__gt=done["seq"]).order_by("seq").values_list("pk", flat=True)
                     .first())
        if following is None:
            return outcome, wait
        delivery_id = following
        outcome, wait = webhook_deliver(delivery_id=delivery_id)
    jobs.enqueue(jobs.DELIVER_WEBHOOK, delivery_id)
    return outcome, wait


@transaction.atomic
def webhook_delivery_replay(*, delivery: WebhookDelivery) -> None:
    """Send a delivery again (an admin's replay): pending from now, with another day before giving up."""
    now = timezone.now()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=Status.PENDING, next_attempt_at=now, leased_until=None, delivered_at=None,
        give_up_at=now + timedelta(seconds=settings.INTEGRATION_WEBHOOK_GIVE_UP_SECONDS))
    transaction.on_commit(lambda: jobs.enqueue(jobs.DELIVER_WEBHOOK, delivery.pk), robust=True)
