from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from .accounts import Account
from .numbers import PhoneNumber
from .threads import Thread


def written_at_expression() -> Coalesce:
    """When a message was written, in SQL: WhatsApp's timestamp for the HCP's (they wrote it then, on
    their phone, however late it reached us), Rapport's for the rep's. Threads and the per-HCP export
    are read in this order (`Message.written_at` is the same in Python)."""
    return Coalesce("wa_timestamp", "created_at")


class Message(models.Model):
    """One WhatsApp message, outbound or inbound.

    An inbound message that cannot be given to a rep keeps `thread` empty and
    says why in `unrouted_reason`; it is never dropped.
    """

    class Direction(models.TextChoices):
        OUTBOUND = "outbound", "Outbound"
        INBOUND = "inbound", "Inbound"

    class Kind(models.TextChoices):
        TEXT = "text", "Text"
        TEMPLATE = "template", "Template"
        MEDIA_LINK = "media_link", "Media link"
        INBOUND_MEDIA = "inbound_media", "Inbound media"
        LOCATION = "location", "Location"
        CONTACTS = "contacts", "Contact cards"
        SYSTEM = "system", "System"
        UNSUPPORTED = "unsupported", "Unsupported"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        READ = "read", "Read"
        FAILED = "failed", "Failed"
        RECEIVED = "received", "Received"

    # Statuses only move forward; failed may follow queued or sent only.
    STATUS_RANK = {"queued": 0, "sent": 1, "delivered": 2, "read": 3}

    # No index of its own: the (thread, written_at, id) index below serves every lookup by thread,
    # and with a second one PostgreSQL counted unread messages by reading the whole thread.
    thread = models.ForeignKey(
        Thread, null=True, blank=True, on_delete=models.PROTECT, related_name="messages", db_index=False
    )
    phone_number = models.ForeignKey(
        PhoneNumber, null=True, blank=True, on_delete=models.PROTECT, related_name="messages"
    )
    # account and status have no index of their own: each leads one of the (…, created_at) indexes
    # below, and every message written pays for every index (docs/performance.md).
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.PROTECT, related_name="messages",
                                db_index=False)
    direction = models.CharField(max_length=8, choices=Direction.choices)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.TEXT)
    body = models.TextField(blank=True)
    template = models.ForeignKey(
        "templates_app.MessageTemplate", null=True, blank=True, on_delete=models.PROTECT, related_name="messages"
    )
    template_variables = models.JSONField(default=dict, blank=True)
    reply_to = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replies")
    wamid = models.CharField("WhatsApp message id", max_length=255, null=True, blank=True, unique=True)
    wa_type = models.CharField(max_length=32, blank=True, help_text="Meta's message type, as received.")
    wa_timestamp = models.DateTimeField(null=True, blank=True, help_text="When WhatsApp says it happened.")
    wa_from = models.CharField(max_length=32, blank=True, help_text="Sender wa_id, as received.")
    wa_from_user_id = models.CharField(
        max_length=150, blank=True, help_text="Sender's business-scoped user id (BSUID), as received.")
    wa_phone_number_id = models.CharField(max_length=32, blank=True, help_text="Business number id, as received.")
    media = models.JSONField(default=dict, blank=True, help_text="Inbound media metadata or link details.")
    pricing = models.JSONField(
        default=dict, blank=True,
        help_text="Meta's pricing of the message from its statuses: category, type, pricing_model, billable.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    failure_code = models.CharField(max_length=40, blank=True, help_text="Rapport's reason code, e.g. window_closed.")
    failure_reason = models.TextField(blank=True, help_text="A human reason.")
    error_code = models.IntegerField(null=True, blank=True, help_text="Meta's error code.")
    error_title = models.CharField(max_length=255, blank=True)
    error_details = models.TextField(blank=True)
    send_attempts = models.PositiveSmallIntegerField(default=0)
    handoff_started_at = models.DateTimeField(
        null=True, blank=True,
        help_text="When a worker began handing this message to Meta; cleared when Meta refused it. "
                  "Set on a queued message without a wamid: the outcome of that hand-off is unknown.",
    )
    send_task_due_at = models.DateTimeField(
        null=True, blank=True,
        help_text="When the pending send task should run; queued messages well past it are re-enqueued.",
    )
    client_id = models.UUIDField(null=True, blank=True)
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="sent_messages"
    )
    unrouted_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["thread", "client_id"], condition=Q(client_id__isnull=False), name="unique_client_id_per_thread"
            ),
        ]
        indexes = [
            # A thread in the order its messages were written (`written_at_expression`), page by page.
            models.Index(F("thread"), written_at_expression(), F("id"), name="chats_message_thread_written"),
            models.Index(fields=["account", "created_at"]),
            models.Index(fields=["status", "created_at"]),
            models.Index(fields=["direction", "created_at"]),  # the admin dashboard's per-day counts
            # The HCP files still to fetch (chats/media/fetch.py inbound_media_requeue_lost): a few rows.
            models.Index(fields=["created_at"], name="chats_message_media_pending",
                         condition=Q(kind="inbound_media", media__status="pending")),
        ]

    def __str__(self):
        arrow = "→" if self.direction == self.Direction.OUTBOUND else "←"
        return f"{arrow} {self.body[:40] or self.kind} ({self.status})"

    @property
    def written_at(self):
        """`written_at_expression` for a loaded row: WhatsApp's time for the HCP's, ours for the rep's."""
        return self.wa_timestamp or self.created_at

    @property
    def is_unrouted(self) -> bool:
        return self.direction == self.Direction.INBOUND and self.thread_id is None


class WebhookEvent(models.Model):
    """A raw, signature-checked webhook body, stored before it is processed."""

    body = models.BinaryField()
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    # When a drain may take it: now when stored, the end of a lease when claimed, later when backing off.
    available_at = models.DateTimeField(default=timezone.now)
    # Set when it still failed after its last attempt: kept, with its error, for an admin to replay.
    dead_lettered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["available_at", "id"], condition=models.Q(processed_at__isnull=True),
                                name="chats_webhook_due_idx")]

    def __str__(self):
        state = "processed" if self.processed_at else "dead-lettered" if self.dead_lettered_at else "pending"
        return f"Webhook #{self.pk} ({state})"
