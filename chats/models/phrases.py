import re

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone


class RestrictedPhraseRule(models.Model):
    """A named set of phrases that reps may not send, active between two dates."""

    name = models.CharField(max_length=200, unique=True)
    active_from = models.DateTimeField(null=True, blank=True, help_text="Empty: active since always.")
    active_to = models.DateTimeField(null=True, blank=True, help_text="Empty: active for ever.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        if self.active_from and self.active_to and self.active_to <= self.active_from:
            raise ValidationError({"active_to": "The end must come after the start."})

    def is_active(self, at=None) -> bool:
        at = at or timezone.now()
        return (self.active_from is None or self.active_from <= at) and (self.active_to is None or at < self.active_to)


class RestrictedPhrase(models.Model):
    class MatchType(models.TextChoices):
        CONTAINS = "contains", "Contains (case-insensitive substring)"
        EXACT = "exact", "Exact (case-insensitive whole word or phrase)"
        REGEX = "regex", "Regular expression (Python, case-insensitive)"

    rule = models.ForeignKey(RestrictedPhraseRule, on_delete=models.CASCADE, related_name="phrases")
    phrase = models.CharField(max_length=500)
    match_type = models.CharField(max_length=10, choices=MatchType.choices, default=MatchType.CONTAINS)

    class Meta:
        ordering = ["rule", "phrase"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "phrase", "match_type"], name="unique_phrase_per_rule")
        ]

    def __str__(self):
        return f"{self.phrase} ({self.match_type})"

    def clean(self):
        if not self.phrase.strip():
            raise ValidationError({"phrase": "A phrase cannot be blank."})
        if self.match_type == self.MatchType.REGEX:
            try:
                re.compile(self.phrase, re.IGNORECASE)
            except re.error as exc:
                raise ValidationError({"phrase": f"Not a valid regular expression: {exc}."}) from exc
