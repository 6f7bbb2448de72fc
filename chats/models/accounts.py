from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from chats.models.phones import normalize_e164, validate_e164
from templates_app.languages import validate_language_code


class UserProfile(models.Model):
    """What Rapport knows about a Django user beyond auth."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    has_engage_license = models.BooleanField(
        default=False, help_text="Without the Engage license a user gets no Chats tab and no chat API."
    )

    def __str__(self):
        return f"Profile of {self.user}"


class Account(models.Model):
    """An HCP (healthcare professional) that reps may chat with."""

    name = models.CharField(max_length=200)
    specialty = models.CharField(max_length=120, blank=True)
    whatsapp_number = models.CharField(
        max_length=20, unique=True, validators=[validate_e164], help_text="E.164, e.g. +447700900001."
    )
    language = models.CharField(
        max_length=12, default="en", validators=[validate_language_code], help_text="Preferred language (en, fr, pt_BR)."
    )
    team = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="visible_accounts", blank=True, help_text="Users who may see this HCP."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["name"])]

    def __str__(self):
        return self.name

    def clean_fields(self, exclude=None):
        # Normalise before the E.164 validator runs, so "+44 7700 900123" is accepted as +447700900123.
        if self.whatsapp_number:
            try:
                self.whatsapp_number = normalize_e164(self.whatsapp_number)
            except ValidationError:
                pass  # the field validator reports it with the field's name
        super().clean_fields(exclude=exclude)

    @property
    def wa_id(self) -> str:
        """The number as WhatsApp writes it: digits only."""
        return self.whatsapp_number.lstrip("+")
