"""How long the change feed and the webhook delivery log are kept: INTEGRATION_CHANGE_RETENTION_DAYS (30).

The beat prunes in batches, oldest first: settled deliveries (delivered or given up) with their attempts,
then the feed's oldest changes. The feed stays a contiguous run of places (`seq`): what is pruned is always
everything up to one place, so a cursor from before it is known to have missed changes (`cursor_expired`)
and one after it never has. A change a pending delivery still needs is kept, with every change after it,
and so is the newest change (the next place follows it).
"""
from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone

from chats.integration import feed
from chats.models import Change, WebhookDelivery, WebhookSubscription

PRUNE_BATCH = 2000
SETTLED = (WebhookDelivery.Status.DELIVERED, WebhookDelivery.Status.GAVE_UP)


def _prune_deliveries(cutoff) -> int:
    pruned = 0
    while True:
        with transaction.atomic():
            batch = list(WebhookDelivery.objects.filter(created_at__lt=cutoff, status__in=SETTLED)
                         .order_by("id").values_list("pk", flat=True)[:PRUNE_BATCH])
            if not batch:
                return pruned
            # settled ones only, again: a replay may have made one pending since; their attempts go with them
            deleted = WebhookDelivery.objects.filter(pk__in=batch, status__in=SETTLED).delete()[1]
            pruned += deleted.get(WebhookDelivery._meta.label, 0)


def _prunable_through(cutoff) -> int:
    """The last place that may go: older than the cutoff, before any change a delivery still needs or an
    active subscription has yet to fan out, and before the newest change."""
    through = Change.objects.filter(at__lt=cutoff, seq__isnull=False).aggregate(top=Max("seq"))["top"] or 0
    newest = Change.objects.aggregate(top=Max("seq"))["top"] or 0
    needed = WebhookDelivery.objects.aggregate(low=Min("seq"))["low"]
    unfed = (WebhookSubscription.objects.filter(is_active=True, integration__revoked_at=None)
             .aggregate(low=Min("fed_through"))["low"])
    bounds = [through, newest - 1]
    bounds += [needed - 1] if needed is not None else []
    bounds += [unfed] if unfed is not None else []
    return min(bounds)


def _prune_changes(through: int) -> int:
    pruned = 0
    while True:
        with transaction.atomic():
            batch = list(Change.objects.filter(seq__lte=through).order_by("seq").values_list("pk", flat=True)[:PRUNE_BATCH])
            if not batch:
                return pruned
            pruned += Change.objects.filter(pk__in=batch).delete()[0]


def integration_log_prune(*, now=None) -> dict:
    """Delete the settled webhook deliveries (with their attempts) and the feed's changes older than
    INTEGRATION_CHANGE_RETENTION_DAYS; never a pending delivery or a change one needs. Returns the counts."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.INTEGRATION_CHANGE_RETENTION_DAYS)
    while feed.changes_stamp() == feed.STAMP_BATCH:
        pass  # every committed change has its place, so the oldest are known
    deliveries = _prune_deliveries(cutoff)
    changes = _prune_changes(_prunable_through(cutoff))
    return {"deliveries": deliveries, "changes": changes}
