"""Consent keywords, each HCP's current consent, and the read-only consent history."""
from django.contrib import admin

from chats.admin.base import ReadOnlyAdmin
from chats.compliance.admin_audit import AuditedAdminMixin
from consent.models import ConsentEvent, ConsentRecord, ConsentStatus, ConsentType
from consent.services import consent_set_by_admin


@admin.register(ConsentType)
class ConsentTypeAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("language", "name", "subscribe_keywords", "unsubscribe_keywords")
    search_fields = ("language", "name", "subscribe_keywords", "unsubscribe_keywords")


@admin.register(ConsentRecord)
class ConsentRecordAdmin(admin.ModelAdmin):
    list_display = ("account", "status", "captured_via", "captured_by", "captured_at")
    list_filter = ("status", "captured_via")
    search_fields = ("account__name", "account__whatsapp_number", "captured_by__username")
    list_select_related = ("account", "captured_by")
    autocomplete_fields = ("account",)
    fields = ("account", "consent_type", "status", "captured_via", "captured_by", "captured_at")
    readonly_fields = ("captured_via", "captured_by", "captured_at")

    def get_readonly_fields(self, request, obj=None):
        # A record belongs to its HCP for good; moving it would rewrite two HCPs' consent unrecorded.
        return (*self.readonly_fields, "account") if obj else self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        # Deleting would make an HCP "not captured" with no event; an opt-out is the recorded way.
        return False

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "status":
            # A record holds a decision; "not captured" is the absence of a record.
            kwargs["choices"] = [(ConsentStatus.OPTED_IN, "Opted in"), (ConsentStatus.OPTED_OUT, "Opted out")]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        # The admin's edit goes through the same service as every other consent change:
        # stamped as this admin's, one append-only ConsentEvent, reps told after commit.
        record, _ = consent_set_by_admin(account=obj.account, status=obj.status, actor=request.user,
                                         consent_type=obj.consent_type)
        obj.pk = record.pk
        obj._state.adding = False
        obj.captured_via, obj.captured_by, obj.captured_at = record.captured_via, record.captured_by, record.captured_at


@admin.register(ConsentEvent)
class ConsentEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "account", "previous_status", "status", "via", "actor")
    list_filter = ("status", "via", "at")
    search_fields = ("account__name", "account__whatsapp_number", "actor__username")
    list_select_related = ("account", "actor")
    show_full_result_count = False
