from django.conf import settings
from django.db import models


class WhatsAppBusinessAccount(models.Model):
    """A Meta WhatsApp Business Account (WABA). Its secrets are write-only."""

    waba_id = models.CharField("WABA id", max_length=32, unique=True)
    name = models.CharField(max_length=200)
    default_language = models.CharField(max_length=12, default="en")
    app_secret = models.CharField(
        max_length=255, blank=True, help_text="Write-only. Empty: WHATSAPP_APP_SECRET applies."
    )
    access_token = models.TextField(blank=True, help_text="Write-only. Empty: WHATSAPP_ACCESS_TOKEN applies.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "WhatsApp Business Account"
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.waba_id})"

    @property
    def effective_app_secret(self) -> str:
        return self.app_secret or settings.WHATSAPP_APP_SECRET

    @property
    def effective_access_token(self) -> str:
        return self.access_token or settings.WHATSAPP_ACCESS_TOKEN


class PhoneNumber(models.Model):
    """A WhatsApp business phone number; shared when more than one rep is assigned."""

    phone_number_id = models.CharField("phone number id", max_length=32, unique=True)
    display_phone_number = models.CharField(max_length=32)
    verified_name = models.CharField(max_length=200, blank=True)
    waba = models.ForeignKey(WhatsAppBusinessAccount, on_delete=models.PROTECT, related_name="phone_numbers")
    assignees = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="PhoneAssignment", related_name="phone_numbers", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["display_phone_number"]

    def __str__(self):
        return f"{self.display_phone_number} ({self.verified_name or self.phone_number_id})"


class PhoneAssignment(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="phone_assignments")
    phone_number = models.ForeignKey(PhoneNumber, on_delete=models.CASCADE, related_name="assignments")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "phone_number"], name="unique_assignment_per_user_number")
        ]

    def __str__(self):
        return f"{self.user} on {self.phone_number.display_phone_number}"
