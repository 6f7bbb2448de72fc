from django.conf import settings
from django.db import models

from chats.compliance.append_only import AppendOnlyModel


class AuditEvent(AppendOnlyModel):
    """One compliance-relevant happening. Rows are never changed or deleted."""

    class Kind(models.TextChoices):
        MESSAGE_QUEUED = "message.queued", "Message queued"
        MESSAGE_RECEIVED = "message.received", "Message received"
        MESSAGE_STATUS = "message.status", "Message status changed"
        MESSAGE_FAILED = "message.failed", "Message failed"
        SEND_REFUSED = "send.refused", "Send refused"
        RESTRICTED_PHRASES = "send.restricted_phrases", "Restricted phrases rejected"
        WINDOW_OPENED = "window.opened", "Window opened"
        WINDOW_ROLLED = "window.rolled", "Window rolled"
        WINDOW_ENDED = "window.ended", "Window ended"
        WINDOW_EXPIRED = "window.expired", "Window expired"
        ROUTED = "routing.decision", "Routing decision"
        LINK_OPENED = "link.opened", "Tracked link opened"
        ADMIN_CHANGE = "admin.change", "Admin change"
        TEMPLATE_SYNCED = "template.synced", "Template updated from Meta"
        HISTORY_EXPORTED = "history.exported", "History exported"
        RETENTION_REDACTED = "retention.redacted", "Message bodies redacted (retention)"
        ACCOUNT_WHATSAPP_ADDRESS = "account.whatsapp_address", "HCP's WhatsApp number or user id changed"
        REACTION_RECEIVED = "reaction.received", "HCP reaction received"
        REACTION_NOT_APPLIED = "reaction.not_applied", "HCP reaction not applied"
        REACTION_QUEUED = "reaction.queued", "Rep reaction queued"
        REACTION_SENT = "reaction.sent", "Rep reaction sent"
        REACTION_FAILED = "reaction.failed", "Rep reaction failed"
        INTEGRATION_CREDENTIAL = "integration.credential", "Integration token or webhook changed"
        INTEGRATION_READ = "integration.read", "Integration read conversations"

    kind = models.CharField(max_length=40, choices=Kind.choices)
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    # kind, actor, account and phone_number have no index of their own: each leads one of the
    # (…, at) indexes below, and every row written pays for every index (docs/performance.md).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    account = models.ForeignKey("chats.Account", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                db_index=False)
    phone_number = models.ForeignKey(
        "chats.PhoneNumber", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    thread = models.ForeignKey("chats.Thread", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    message = models.ForeignKey("chats.Message", null=True, blank=True, on_delete=models.PROTECT, related_name="events")
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        # The admin's filters (HCP, rep, number, kind) each read one of these, newest first.
        indexes = [
            models.Index(fields=["account", "at"]),
            models.Index(fields=["actor", "at"]),
            models.Index(fields=["phone_number", "at"]),
            models.Index(fields=["kind", "at"]),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} at {self.at:%Y-%m-%d %H:%M:%S}"
