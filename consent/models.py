from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from chats.compliance.append_only import AppendOnlyModel
from templates_app.languages import validate_language_code


def keyword_key(text: str) -> str:
    """How keywords compare: NFKC-normalised, trimmed, case-folded, inner spaces folded."""
    import unicodedata

    return " ".join(unicodedata.normalize("NFKC", text or "").casefold().split())


class ConsentType(models.Model):
    """Consent keywords in one language. Keywords are comma-separated."""

    name = models.CharField(max_length=120, default="WhatsApp messaging")
    language = models.CharField(max_length=12, unique=True, validators=[validate_language_code])
    subscribe_keywords = models.CharField(max_length=255, help_text="Comma-separated, e.g. START, YES.")
    unsubscribe_keywords = models.CharField(max_length=255, help_text="Comma-separated, e.g. STOP.")
    wording = models.TextField(
        help_text="What the HCP agrees to when a rep captures their consent. Each change is kept as a new "
                  "version; every capture records the version the HCP agreed to.",
    )

    class Meta:
        ordering = ["language"]

    def __str__(self):
        return f"{self.name} [{self.language}]"

    @staticmethod
    def _split(value: str) -> list[str]:
        return [k.strip() for k in (value or "").split(",") if k.strip()]

    @property
    def subscribe_list(self) -> list[str]:
        return self._split(self.subscribe_keywords)

    @property
    def unsubscribe_list(self) -> list[str]:
        return self._split(self.unsubscribe_keywords)

    def clean(self):
        subscribe = {keyword_key(k) for k in self.subscribe_list}
        unsubscribe = {keyword_key(k) for k in self.unsubscribe_list}
        if not subscribe:
            raise ValidationError({"subscribe_keywords": "Give at least one subscribe keyword."})
        if not unsubscribe:
            raise ValidationError({"unsubscribe_keywords": "Give at least one unsubscribe keyword."})
        if subscribe & unsubscribe:
            raise ValidationError("A keyword cannot both subscribe and unsubscribe: " + ", ".join(sorted(subscribe & unsubscribe)))


class ConsentWording(AppendOnlyModel):
    """One version of a consent type's wording, kept for good: captures point at the version agreed to."""

    consent_type = models.ForeignKey(ConsentType, on_delete=models.PROTECT, related_name="wordings")
    version = models.PositiveIntegerField()
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["consent_type", "-version"]
        constraints = [models.UniqueConstraint(fields=["consent_type", "version"], name="consent_wording_version_unique")]

    def __str__(self):
        return f"{self.consent_type} v{self.version}"


class ConsentMethod(models.Model):
    """How consent was obtained (verbal, written, e-mail, CRM import, ...): the list admins keep."""

    code = models.SlugField(max_length=32, unique=True, help_text="Stable code used by the API, e.g. verbal.")
    label = models.CharField(max_length=120)
    offered_to_reps = models.BooleanField(
        default=True, help_text="Offered in the web chat's Consent Capture step and accepted from reps through "
                                "the API. Untick to retire a method; past captures keep it.",
    )
    display_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["display_order", "label"]

    def __str__(self):
        return self.label


class ConsentStatus(models.TextChoices):
    OPTED_IN = "opted_in", "Opted in"
    OPTED_OUT = "opted_out", "Opted out"
    NOT_CAPTURED = "not_captured", "Not captured"


class ConsentChannel(models.TextChoices):
    REP = "rep", "Captured by a rep"
    KEYWORD = "keyword", "HCP keyword on WhatsApp"
    ADMIN = "admin", "Admin"
    IMPORT = "import", "Data import"
    API = "api", "API client"
    PREFERENCE = "preference", "HCP's WhatsApp setting (stop marketing messages)"


class ConsentRecord(models.Model):
    """An HCP's current consent; one per account, surviving number changes."""

    account = models.OneToOneField("chats.Account", on_delete=models.PROTECT, related_name="consent")
    consent_type = models.ForeignKey(ConsentType, null=True, blank=True, on_delete=models.PROTECT)
    status = models.CharField(max_length=16, choices=ConsentStatus.choices)
    captured_via = models.CharField(max_length=10, choices=ConsentChannel.choices)
    captured_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    captured_at = models.DateTimeField()
    method = models.ForeignKey(ConsentMethod, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                               help_text="How the consent was obtained (captures by reps, admins and imports).")
    wording = models.ForeignKey(ConsentWording, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                help_text="The wording version the HCP agreed to.")
    hcp_said_at = models.DateTimeField(
        null=True, blank=True,
        help_text="WhatsApp's timestamp of the HCP's own latest keyword: an older one that arrives late "
                  "is kept in the trail but changes nothing.",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["opted_in", "opted_out"]), name="consent_record_status_is_decided"
            )
        ]

    def __str__(self):
        return f"{self.account}: {self.get_status_display()}"


class ConsentEvent(AppendOnlyModel):
    """Append-only history of every consent change."""

    account = models.ForeignKey("chats.Account", on_delete=models.PROTECT, related_name="consent_events")
    previous_status = models.CharField(max_length=16, choices=ConsentStatus.choices)
    status = models.CharField(max_length=16, choices=ConsentStatus.choices)
    via = models.CharField(max_length=10, choices=ConsentChannel.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    message = models.ForeignKey(
        "chats.Message", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="The inbound keyword message, when the HCP changed it.",
    )
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    method = models.ForeignKey(ConsentMethod, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                               help_text="How the consent was obtained (captures by reps, admins and imports).")
    wording = models.ForeignKey(ConsentWording, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                help_text="The wording version the HCP agreed to.")
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.account}: {self.previous_status} → {self.status} ({self.via})"
