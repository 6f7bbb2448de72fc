"""Restricted phrase rules with their phrases inline."""
from django.contrib import admin
from django.db.models import Count

from chats.compliance.admin_audit import AuditedAdminMixin
from chats.models import RestrictedPhrase, RestrictedPhraseRule


class RestrictedPhraseInline(admin.TabularInline):
    model = RestrictedPhrase
    extra = 3
    fields = ("phrase", "match_type")


@admin.register(RestrictedPhraseRule)
class RestrictedPhraseRuleAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "active_from", "active_to", "active_now", "phrase_count", "updated_at")
    search_fields = ("name", "phrases__phrase")
    list_filter = ("active_from", "active_to")
    inlines = [RestrictedPhraseInline]
    readonly_fields = ("created_at", "updated_at")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(phrase_count=Count("phrases"))

    @admin.display(description="Active now", boolean=True)
    def active_now(self, rule):
        return rule.is_active()

    @admin.display(description="Phrases", ordering="phrase_count")
    def phrase_count(self, rule):
        return rule.phrase_count
