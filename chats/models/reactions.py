from django.conf import settings
from django.db import models
from django.db.models import Q

from .accounts import Account
from .messages import Message


class ReactionQuerySet(models.QuerySet):
    def shown(self):
        """The reactions a message shows (removed ones left out), oldest first, with who gave them."""
        return self.exclude(emoji="").select_related("by_account", "by_user").order_by("reacted_at", "id")


class MessageReaction(models.Model):
    """One party's emoji on a message: the HCP's (`by_account`) or a rep's (`by_user`).

    WhatsApp keeps one reaction per person per message, so a new emoji replaces the last and an empty
    one removes it. The row stays with `emoji=""` when removed, so an older reaction that arrives late
    (`reacted_at` earlier) cannot bring it back. Each change leaves an audit row.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        RECEIVED = "received", "Received"

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reactions")
    by_account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    emoji = models.CharField(max_length=32, blank=True, help_text="Empty: the reaction was removed.")
    reacted_at = models.DateTimeField(help_text="When WhatsApp (HCP) or Rapport (rep) says it happened.")
    wamid = models.CharField("WhatsApp message id", max_length=255, blank=True,
                             help_text="The id of the latest reaction message.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    failure_reason = models.CharField(max_length=255, blank=True)

    objects = ReactionQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(by_account__isnull=True) ^ Q(by_user__isnull=True),
                                   name="reaction_by_hcp_or_rep"),
            models.UniqueConstraint(fields=["message", "by_account"], condition=Q(by_account__isnull=False),
                                    name="one_reaction_per_hcp_per_message"),
            models.UniqueConstraint(fields=["message", "by_user"], condition=Q(by_user__isnull=False),
                                    name="one_reaction_per_rep_per_message"),
        ]

    def __str__(self):
        return f"{self.emoji or '(removed)'} on message {self.message_id}"
