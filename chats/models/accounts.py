from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from chats.models.phones import normalize_e164, validate_e164, validate_whatsapp_user_id
from templates_app.languages import validate_language_code


class UserProfile(models.Model):
    """What Rapport knows about a Django user beyond auth."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    has_engage_license = models.BooleanField(
        default=False, help_text="Without the Engage license a user gets no Chats tab and no chat API."
    )
    # One of settings.LANGUAGES; blank follows the browser (Accept-Language).
    language = models.CharField(
        max_length=10, blank=True, choices=settings.LANGUAGES,
        help_text="The web chat's and the API's language for this user; blank follows the browser.")

    def __str__(self):
        return f"Profile of {self.user}"


class Account(models.Model):
    """An HCP (healthcare professional) that reps may chat with."""

    name = models.CharField(max_length=200)
    # The CRM's id of this HCP: integrations upsert by it (docs/integration.md).
    external_id = models.CharField(max_length=100, unique=True, null=True, blank=True,
                                   help_text="The CRM's id of this HCP, e.g. a Veeva or Salesforce id.")
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2, e.g. GB.")
    specialty = models.CharField(max_length=120, blank=True)
    # WhatsApp reaches an HCP by phone number or, since 2026, by a business-scoped user id (an HCP
    # with a username may hide their number): either may be missing, one is needed.
    whatsapp_number = models.CharField(
        max_length=20, unique=True, null=True, blank=True, validators=[validate_e164],
        help_text="E.164, e.g. +447700900001. May be empty when the WhatsApp user id is known.")
    whatsapp_user_id = models.CharField(
        "WhatsApp user id", max_length=150, unique=True, null=True, blank=True, validators=[validate_whatsapp_user_id],
        help_text="Meta's business-scoped user id (BSUID), e.g. US.13491208655302741918.")
    whatsapp_parent_user_id = models.CharField(
        "WhatsApp parent user id", max_length=150, blank=True, validators=[validate_whatsapp_user_id],
        help_text="Meta's parent user id, when the HCP's id is scoped to a group of businesses.")
    whatsapp_username = models.CharField(max_length=64, blank=True, help_text="The HCP's WhatsApp username, if set.")
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
        indexes = [models.Index(fields=["name"]), models.Index(fields=["updated_at", "id"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(whatsapp_number__isnull=False) | models.Q(whatsapp_user_id__isnull=False),
                name="account_has_whatsapp_address",
                violation_error_message="An HCP needs a WhatsApp number or a WhatsApp user id."),
        ]

    def __str__(self):
        return self.name

    def clean_fields(self, exclude=None):
        # An empty box is "no number" (NULL), so many HCPs known only by user id can coexist.
        self.whatsapp_number = (self.whatsapp_number or "").strip() or None
        self.whatsapp_user_id = (self.whatsapp_user_id or "").strip() or None
        self.external_id = (self.external_id or "").strip() or None
        self.country = (self.country or "").strip().upper()
        # Normalise before the E.164 validator runs, so "+44 7700 900123" is accepted as +447700900123.
        if self.whatsapp_number:
            try:
                self.whatsapp_number = normalize_e164(self.whatsapp_number)
            except ValidationError:
                pass  # the field validator reports it with the field's name
        super().clean_fields(exclude=exclude)

    @property
    def wa_id(self) -> str:
        """The number as WhatsApp writes it: digits only ("" when only the user id is known)."""
        return (self.whatsapp_number or "").lstrip("+")

    @property
    def whatsapp_recipient(self) -> dict[str, str]:
        """Where a send goes: `to` for a phone number, `recipient` for a user id. Meta accepts a user id
        in `to` with 200 and drops the message silently, so a user id never goes there."""
        return {"to": self.wa_id} if self.whatsapp_number else {"recipient": self.whatsapp_user_id or ""}

    @property
    def whatsapp_key(self) -> str:
        """One stable string for this HCP on WhatsApp (rate-limit keys): the number's digits, else the user id."""
        return self.wa_id or self.whatsapp_user_id or ""

    @property
    def whatsapp_address(self) -> str:
        """How a rep or admin tells this HCP apart: the number, else the username, else the user id."""
        return self.whatsapp_number or (f"@{self.whatsapp_username}" if self.whatsapp_username else "") \
            or self.whatsapp_user_id or ""
