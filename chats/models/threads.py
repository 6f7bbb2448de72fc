from django.conf import settings
from django.db import models

from .accounts import Account
from .numbers import PhoneNumber


class Thread(models.Model):
    """One rep's chat with one HCP over one of the rep's numbers."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="threads")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="threads")
    phone_number = models.ForeignKey(PhoneNumber, on_delete=models.PROTECT, related_name="threads")
    created_at = models.DateTimeField(auto_now_add=True)
    last_activity_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_read_at = models.DateTimeField(null=True, blank=True)
    lock_waiting_since = models.DateTimeField(
        null=True, blank=True,
        help_text="The rep opened this thread while another rep held the HCP's window: told when it ends.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "account", "phone_number"], name="unique_thread_per_user_account_number")
        ]
        # The thread list's order (user, last_activity_at DESC NULLS LAST, created_at DESC, id DESC)
        # is an index of its own, in migration 0010: SQLite has no NULLS LAST in an index.

    def __str__(self):
        return f"{self.user} ↔ {self.account} via {self.phone_number.display_phone_number}"


class Conversation(models.Model):
    """Meta's per (business number, HCP) state, shared by every rep of the number.

    Window status is derived from these timestamps at read time.
    """

    phone_number = models.ForeignKey(PhoneNumber, on_delete=models.PROTECT, related_name="conversations")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="conversations")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_conversations"
    )
    last_inbound_at = models.DateTimeField(null=True, blank=True, help_text="WhatsApp timestamp of the last HCP message.")
    last_inbound_received_at = models.DateTimeField(
        null=True, blank=True, help_text="When Rapport received that message: what 'answered after' compares.")
    window_expires_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_template_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_template_at = models.DateTimeField(null=True, blank=True)
    expiry_warned_at = models.DateTimeField(null=True, blank=True)
    expiry_announced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["phone_number", "account"], name="unique_conversation_per_number_account")
        ]
        indexes = [models.Index(fields=["window_expires_at"])]

    def __str__(self):
        return f"{self.account} on {self.phone_number.display_phone_number}"
