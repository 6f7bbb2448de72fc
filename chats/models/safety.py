"""Drug safety: the lexicon that flags possible adverse events in HCP messages, the cases it opens and
their append-only trail (docs/safety.md)."""
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from chats.compliance.append_only import AppendOnlyModel
from templates_app.languages import validate_language_code

from .accounts import Account
from .messages import Message
from .phrases import RestrictedPhrase


class SafetyTerm(models.Model):
    """A word or phrase that may report an adverse event ("side effect", "effet indésirable"), or one of the
    company's product names. Matched as restricted phrases are (the same types and normalisation)."""

    class Kind(models.TextChoices):
        TERM = "term", "Safety term"
        PRODUCT = "product", "Product name"

    MatchType = RestrictedPhrase.MatchType

    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.TERM)
    language = models.CharField(max_length=12, default="en", validators=[validate_language_code],
                                help_text="The language the term belongs to (en, fr, pt_BR); every message is "
                                          "checked against every language's terms.")
    phrase = models.CharField(max_length=500)
    match_type = models.CharField(max_length=10, choices=MatchType.choices, default=MatchType.CONTAINS)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "language", "phrase"]
        constraints = [models.UniqueConstraint(fields=["kind", "language", "phrase", "match_type"],
                                               name="unique_safety_term")]

    def __str__(self):
        return f"{self.phrase} ({self.get_kind_display()}, {self.language}, {self.match_type})"

    def clean(self):
        if not self.phrase.strip():
            raise ValidationError({"phrase": "A term cannot be blank."})
        if self.match_type == self.MatchType.REGEX:
            try:
                re.compile(self.phrase, re.IGNORECASE)
            except re.error as exc:
                raise ValidationError({"phrase": f"Not a valid regular expression: {exc}."}) from exc


class SafetyCase(models.Model):
    """A possible adverse event: one HCP message that holds safety terms, to reach drug safety by `due_at`.

    The row holds where the case stands; how it got there is its trail (SafetyCaseEvent, append-only)."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        FORWARDED = "forwarded", "Forwarded to drug safety"
        CLOSED = "closed", "Closed: not an adverse event"

    message = models.OneToOneField(Message, on_delete=models.PROTECT, related_name="safety_case")
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.PROTECT, related_name="safety_cases")
    rep = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                            related_name="+", help_text="The rep whose thread received the message.")
    matched_terms = models.JSONField(default=list, help_text="The safety terms found: phrase, language, "
                                                             "match type and where in the text.")
    products = models.JSONField(default=list, blank=True, help_text="The product names the message mentions.")
    received_at = models.DateTimeField(help_text="When Rapport received the message: the deadline runs from here.")
    due_at = models.DateTimeField(help_text="When drug safety must have it (SAFETY_CASE_DEADLINE_HOURS).")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    seen_at = models.DateTimeField(null=True, blank=True, help_text="When the rep first opened the thread after it.")
    forwarded_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    close_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [models.Index(fields=["status", "due_at"]), models.Index(fields=["received_at"])]

    def __str__(self):
        return f"Safety case {self.pk} ({self.status})"


class SafetyCaseEvent(AppendOnlyModel):
    """One step of a case's trail, by whom and when. Rows are never changed or deleted."""

    class Kind(models.TextChoices):
        FLAGGED = "flagged", "Flagged as a possible adverse event"
        SEEN = "seen", "Seen by the rep"
        NOTE = "note", "Note"
        FORWARDED = "forwarded", "Forwarded to drug safety"
        CLOSED = "closed", "Closed: not an adverse event"

    case = models.ForeignKey(SafetyCase, on_delete=models.PROTECT, related_name="trail")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+", help_text="Empty: Rapport itself.")
    note = models.TextField(blank=True, help_text="The rep's note, or why the case was closed.")
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.get_kind_display()} at {self.at:%Y-%m-%d %H:%M}"
