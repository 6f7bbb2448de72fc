import re

from django.core.exceptions import ValidationError
from django.db import models

from templates_app.languages import validate_language_code

PLACEHOLDER_RE = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")

# What a placeholder may be bound to; rendering reads these from the send's context.
BINDING_FIELDS = {
    "account.name": "HCP's name",
    "account.specialty": "HCP's specialty",
    "rep.full_name": "Rep's full name",
    "rep.first_name": "Rep's first name",
    "rep.last_name": "Rep's last name",
    "business.name": "Business number's verified name",
    "consent.subscribe_keyword": "Subscribe keyword in the HCP's language",
    "consent.unsubscribe_keyword": "Unsubscribe keyword in the HCP's language",
    "media.title": "Shared media item's title",
    "media.url": "Shared media item's tracked link",
}


def placeholders_in(body: str) -> list[str]:
    """Placeholder names in order of first appearance: ['1', '2'] or ['name']."""
    seen: list[str] = []
    for name in PLACEHOLDER_RE.findall(body or ""):
        if name not in seen:
            seen.append(name)
    return seen


def _approved_meta_q() -> models.Q:
    return models.Q(kind=MessageTemplate.Kind.META, meta_status=MessageTemplate.MetaStatus.APPROVED)


class MessageTemplateQuerySet(models.QuerySet):
    def approved_meta(self):
        """Meta templates that Meta approved: the only ones sendable outside a window (the rule's one
        home, with `MessageTemplate.is_sendable_outside_window` for a row already loaded)."""
        return self.filter(_approved_meta_q())

    def sendable(self, *, window_open: bool):
        """What a thread may send: approved Meta templates, and Text Only ones inside an open window."""
        condition = _approved_meta_q()
        if window_open:
            condition |= models.Q(kind=MessageTemplate.Kind.TEXT_ONLY)
        return self.filter(condition)


class MessageTemplate(models.Model):
    class Kind(models.TextChoices):
        META = "meta", "Meta (needs approval)"
        TEXT_ONLY = "text_only", "Text Only (managed here)"

    class Usage(models.TextChoices):
        START_CONVERSATION = "start_conversation", "Start conversation"
        END_CONVERSATION = "end_conversation", "End conversation"
        CONSENT_CONFIRMATION = "consent_confirmation", "Consent confirmation"
        GENERAL = "general", "General"

    class MetaCategory(models.TextChoices):
        MARKETING = "MARKETING", "Marketing"
        UTILITY = "UTILITY", "Utility"
        AUTHENTICATION = "AUTHENTICATION", "Authentication"

    class Quality(models.TextChoices):
        GREEN = "GREEN", "High"
        YELLOW = "YELLOW", "Medium"
        RED = "RED", "Low"
        UNKNOWN = "UNKNOWN", "Pending"

    class MetaStatus(models.TextChoices):
        APPROVED = "APPROVED", "Approved"
        PENDING = "PENDING", "Pending"
        REJECTED = "REJECTED", "Rejected"
        PAUSED = "PAUSED", "Paused"
        DISABLED = "DISABLED", "Disabled"
        IN_APPEAL = "IN_APPEAL", "In appeal"
        PENDING_DELETION = "PENDING_DELETION", "Pending deletion"
        DELETED = "DELETED", "Deleted"
        FLAGGED = "FLAGGED", "Flagged"
        LIMIT_EXCEEDED = "LIMIT_EXCEEDED", "Limit exceeded"
        ARCHIVED = "ARCHIVED", "Archived"

    waba = models.ForeignKey("chats.WhatsAppBusinessAccount", on_delete=models.PROTECT, related_name="templates")
    name = models.CharField(max_length=512, help_text="Meta's template name: lowercase letters, digits, underscores.")
    display_name = models.CharField(
        max_length=120, blank=True,
        help_text="What reps read, e.g. “New study results”. Empty: the name made readable.")
    language = models.CharField(max_length=12, validators=[validate_language_code])
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.META)
    usage = models.CharField(max_length=24, choices=Usage.choices, default=Usage.GENERAL)
    meta_category = models.CharField(max_length=16, choices=MetaCategory.choices, blank=True)
    quality_score = models.CharField(
        max_length=8, choices=Quality.choices, blank=True,
        help_text="Meta's quality rating of the template (its webhook); each change is in the audit trail.")
    meta_status = models.CharField(max_length=20, choices=MetaStatus.choices, blank=True)
    body = models.TextField(help_text="Placeholders as {{1}} or {{name}}.")
    bindings = models.JSONField(
        default=dict, blank=True, help_text='Placeholder → field, e.g. {"1": "account.name", "2": "rep.full_name"}.'
    )
    display_order = models.PositiveIntegerField(default=100, help_text="Lower comes first in quick selection.")
    meta_template_id = models.CharField(max_length=64, blank=True)
    status_reason = models.CharField(max_length=255, blank=True, help_text="Meta's reason for the last status change.")
    last_synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MessageTemplateQuerySet.as_manager()

    class Meta:
        ordering = ["display_order", "name", "language"]
        constraints = [
            models.UniqueConstraint(fields=["waba", "name", "language"], name="unique_template_per_waba_name_language")
        ]

    def __str__(self):
        return f"{self.name} [{self.language}]"

    @property
    def label(self) -> str:
        """The name reps read: the display name, else Meta's name made readable (new_study_results →
        "New study results")."""
        return self.display_name or self.name.replace("_", " ").strip().capitalize()

    @property
    def placeholders(self) -> list[str]:
        return placeholders_in(self.body)

    @property
    def is_sendable_outside_window(self) -> bool:
        return self.kind == self.Kind.META and self.meta_status == self.MetaStatus.APPROVED

    def clean(self):
        super().clean()
        errors = {}
        if not isinstance(self.bindings, dict):
            errors["bindings"] = "Bindings must map each placeholder to a field."
        else:
            missing = [p for p in self.placeholders if p not in self.bindings]
            if missing:
                errors["bindings"] = "Placeholder without a binding: " + ", ".join("{{%s}}" % p for p in missing) + "."
            unknown = sorted({str(f) for f in self.bindings.values()} - set(BINDING_FIELDS))
            if unknown:
                errors.setdefault("bindings", "")
                errors["bindings"] = (
                    errors["bindings"] + " " if errors["bindings"] else ""
                ) + f"Unknown field(s): {', '.join(unknown)}; use one of {', '.join(sorted(BINDING_FIELDS))}."
        if self.kind == self.Kind.META and not self.meta_status:
            errors["meta_status"] = "A Meta template needs its Meta status."
        if errors:
            raise ValidationError(errors)
