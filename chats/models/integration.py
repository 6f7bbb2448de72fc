"""A CRM's way in: integrations (credentials with scopes), the change feed, and signed outbound webhooks."""
from django.conf import settings
from django.db import models


class Integration(models.Model):
    """An external system (a CRM) that pushes accounts and consent and reads every rep's conversations.

    It acts through its own Django user, which cannot sign in (unusable password, inactive): audit
    and consent rows name that user as their actor. Only a digest of its token is kept.
    """

    class Scope(models.TextChoices):
        ACCOUNTS_WRITE = "accounts:write", "Create and change HCP accounts"
        CONSENT_WRITE = "consent:write", "Import consent captured elsewhere"
        MESSAGES_READ = "messages:read", "Read every rep's threads and messages"
        EVENTS_READ = "events:read", "Read the change feed and receive webhooks"
        SAFETY_READ = "safety:read", "Read drug-safety cases (the API and, with events:read, their changes)"

    name = models.CharField(max_length=120, unique=True)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="integration",
                                help_text="The actor its calls are audited as; it cannot sign in.")
    scopes = models.JSONField(default=list, blank=True)
    # The token is `rpi_<prefix>_<secret>`: the prefix finds the row, the SHA-256 of the whole token proves it.
    token_prefix = models.CharField(max_length=16, unique=True, null=True, blank=True, editable=False)
    token_digest = models.CharField(max_length=64, blank=True, editable=False)
    token_issued_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and bool(self.token_digest)


class Change(models.Model):
    """One entry of the change feed: a live event as an integration reads it, written in the writing
    transaction. `seq` is stamped later, in commit order, by whoever reads the feed (chats/integration/feed.py)."""

    seq = models.BigIntegerField(null=True, blank=True, unique=True)
    type = models.CharField(max_length=40)
    # No foreign keys: the feed outlives nothing and must never hold back a delete.
    thread_id = models.BigIntegerField(null=True, blank=True)
    account_id = models.BigIntegerField(null=True, blank=True)
    payload = models.JSONField(default=dict)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["seq"]
        indexes = [models.Index(fields=["id"], condition=models.Q(seq__isnull=True), name="change_unstamped")]

    def __str__(self):
        return f"{self.type} #{self.seq or '-'}"


class WebhookSubscription(models.Model):
    """A URL of an integration that receives the feed's changes of some types, signed (Standard Webhooks)."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="subscriptions")
    url = models.URLField(max_length=500)
    event_types = models.JSONField(default=list, help_text="Change types sent, e.g. message.created.")
    # The signing key (whsec_…): signing needs it in clear; shown once, never in admin or API.
    secret = models.CharField(max_length=100, editable=False)
    is_active = models.BooleanField(default=True)
    fed_through = models.BigIntegerField(default=0, editable=False,
                                         help_text="The last change (seq) turned into deliveries.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["integration", "id"]

    def __str__(self):
        return f"{self.integration}: {self.url}"


class WebhookDelivery(models.Model):
    """One change to one subscription: tried until the receiver answers 2xx, or given up after a day."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        GAVE_UP = "gave_up", "Gave up"

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    change = models.ForeignKey(Change, on_delete=models.PROTECT, related_name="+")
    seq = models.BigIntegerField()
    # Deliveries of one key go one at a time, in seq order: "thread:41", "account:12".
    order_key = models.CharField(max_length=40)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    give_up_at = models.DateTimeField(help_text="After this, no more attempts (a replay gives it another day).")
    leased_until = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-seq"]
        constraints = [models.UniqueConstraint(fields=["subscription", "change"], name="webhook_delivery_once")]
        indexes = [
            models.Index(fields=["subscription", "order_key", "seq"], condition=models.Q(status="pending"),
                         name="webhook_delivery_pending"),
            models.Index(fields=["next_attempt_at"], condition=models.Q(status="pending"), name="webhook_delivery_due"),
        ]

    def __str__(self):
        return f"{self.change.type} #{self.seq} → {self.subscription.url}"

    @property
    def webhook_id(self) -> str:
        """The `webhook-id` header: the same on every attempt, so a receiver can drop a repeat."""
        return f"chg_{self.change_id}_{self.subscription_id}"


class WebhookAttempt(models.Model):
    """One POST of a delivery, and what the receiver answered."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField(auto_now_add=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    answer = models.TextField(blank=True, help_text="The start of the receiver's answer, or the error.")
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.status_code or 'error'} at {self.at:%Y-%m-%d %H:%M:%S}"
