"""Consent keywords, each HCP's current consent, and the read-only consent history."""
from django import forms
from django.contrib import admin
from django.db import transaction

from chats.admin.base import ReadOnlyAdmin
from chats.compliance.admin_audit import AuditedAdminMixin
from consent.models import ConsentEvent, ConsentMethod, ConsentRecord, ConsentStatus, ConsentType, ConsentWording
from consent.services import consent_set_by_admin, consent_wording_current


class ConsentWordingInline(admin.TabularInline):
    """Every version of the wording, newest first: what each capture's `wording` points at."""

    model = ConsentWording
    fields = ("version", "text", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "wording versions (kept for good)"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ConsentType)
class ConsentTypeAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("language", "name", "subscribe_keywords", "unsubscribe_keywords", "wording_version")
    search_fields = ("language", "name", "subscribe_keywords", "unsubscribe_keywords")
    inlines = [ConsentWordingInline]

    @admin.display(description="Wording version")
    def wording_version(self, consent_type):
        latest = consent_type.wordings.order_by("-version").first()
        return f"v{latest.version}" if latest else "—"

    def save_model(self, request, obj, form, change):
        # A changed wording becomes its next version at once, so the history shows it before any capture.
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            consent_wording_current(consent_type=obj)


@admin.register(ConsentMethod)
class ConsentMethodAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("label", "code", "offered_to_reps", "display_order")
    list_editable = ("offered_to_reps", "display_order")
    search_fields = ("label", "code")

    def has_delete_permission(self, request, obj=None):
        # Past captures name their method; retire one by unticking "offered to reps".
        return False


class ConsentRecordForm(forms.ModelForm):
    class Meta:
        model = ConsentRecord
        fields = ("account", "consent_type", "status", "method")

    def clean(self):
        data = super().clean()
        if data.get("status") == ConsentStatus.OPTED_IN and not data.get("method"):
            self.add_error("method", "Say how the HCP gave consent.")
        return data


@admin.register(ConsentRecord)
class ConsentRecordAdmin(admin.ModelAdmin):
    form = ConsentRecordForm
    list_display = ("account", "status", "captured_via", "method", "captured_by", "captured_at")
    list_filter = ("status", "captured_via", "method")
    search_fields = ("account__name", "account__whatsapp_number", "captured_by__username")
    list_select_related = ("account", "captured_by", "method")
    autocomplete_fields = ("account",)
    fields = ("account", "consent_type", "status", "method", "wording", "captured_via", "captured_by", "captured_at")
    readonly_fields = ("wording", "captured_via", "captured_by", "captured_at")

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
                                         consent_type=obj.consent_type, method=obj.method)
        obj.pk = record.pk
        obj._state.adding = False
        obj.captured_via, obj.captured_by, obj.captured_at = record.captured_via, record.captured_by, record.captured_at
        obj.method, obj.wording = record.method, record.wording


@admin.register(ConsentEvent)
class ConsentEventAdmin(ReadOnlyAdmin):
    """The consent trail: each change, with its evidence (method, wording version), by whom and when."""

    list_display = ("at", "account", "previous_status", "status", "via", "method", "wording", "actor")
    list_filter = ("status", "via", "method", "at")
    search_fields = ("account__name", "account__whatsapp_number", "actor__username")
    list_select_related = ("account", "actor", "method", "wording__consent_type")
    show_full_result_count = False
