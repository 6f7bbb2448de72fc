"""What an integration reads: every HCP account, every rep's threads and messages (read-only), each list
filterable by `updated_since` for clients that poll instead of following the change feed."""
from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from chats.errors import NotFound
from chats.models import Account, Message, Thread, WebhookSubscription, written_at_expression


def accounts_for_integration(*, updated_since: datetime | None = None) -> QuerySet[Account]:
    """Every HCP account, least recently changed first (so `updated_since` pages forward)."""
    accounts = Account.objects.prefetch_related("team").select_related("consent")
    if updated_since is not None:
        accounts = accounts.filter(updated_at__gte=updated_since)
    return accounts.order_by("updated_at", "id")


def account_by_external_id(*, external_id: str) -> Account:
    account = Account.objects.prefetch_related("team").select_related("consent").filter(external_id=external_id).first()
    if account is None:
        raise NotFound("not_found", f"No HCP account has external id {external_id!r}.")
    return account


def threads_for_integration(*, updated_since: datetime | None = None) -> QuerySet[Thread]:
    """Every rep's threads, by latest activity (a message written or received), oldest first."""
    threads = Thread.objects.select_related("account", "phone_number", "user")
    if updated_since is not None:
        threads = threads.filter(last_activity_at__gte=updated_since)
    return threads.order_by("last_activity_at", "id")


def thread_for_integration(*, thread_id: int) -> Thread:
    thread = Thread.objects.select_related("account", "phone_number", "user").filter(pk=thread_id).first()
    if thread is None:
        raise NotFound("not_found", _("No such thread."))
    return thread


def messages_for_integration(*, thread: Thread, updated_since: datetime | None = None) -> QuerySet[Message]:
    """The thread's messages in written order; with `updated_since`, those created or whose status moved since."""
    messages = Message.objects.filter(thread=thread)
    if updated_since is not None:
        messages = messages.filter(
            Q(created_at__gte=updated_since) | Q(sent_at__gte=updated_since) | Q(delivered_at__gte=updated_since)
            | Q(read_at__gte=updated_since) | Q(failed_at__gte=updated_since))
    return (messages.alias(written_at=written_at_expression())
            .select_related("reply_to", "template", "sender", "safety_case").order_by("written_at", "id"))


def webhook_subscriptions_of(*, integration) -> QuerySet[WebhookSubscription]:
    """An integration's own webhook subscriptions, oldest first."""
    return WebhookSubscription.objects.filter(integration=integration).order_by("id")


def webhook_subscription_of(*, integration, subscription_id: int) -> WebhookSubscription:
    """One of the integration's own subscriptions; another integration's is as absent as a missing one."""
    subscription = (WebhookSubscription.objects.select_related("integration")
                    .filter(integration=integration, pk=subscription_id).first())
    if subscription is None:
        raise NotFound("not_found", _("No such webhook subscription."))
    return subscription
