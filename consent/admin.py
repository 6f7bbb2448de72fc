"""Consent keywords, each HCP's current consent, and the read-only consent history."""
from django.contrib import admin
from django.db import transaction
from django.utils import timezone

from chats.admin.base import ReadOnlyAdmin
from consent.models import ConsentChannel, ConsentEvent, ConsentRecord, ConsentStatus, ConsentType


@admin.register(ConsentType)
class ConsentTypeAdmin(admin.ModelAdmin):
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

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "status":
            # A record holds a decision; "not captured" is the absence of a record.
            kwargs["choices"] = [(ConsentStatus.OPTED_IN, "Opted in"), (ConsentStatus.OPTED_OUT, "Opted out")]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        # An admin's edit is a consent change like any other: it is stamped as
        # the admin's and leaves a row in the append-only history.
        with transaction.atomic():
            previous = (
                ConsentRecord.objects.filter(pk=obj.pk).values_list("status", flat=True).first()
                if change
                else None
            ) or ConsentStatus.NOT_CAPTURED
            if not change or "status" in form.changed_data:
                obj.captured_via = ConsentChannel.ADMIN
                obj.captured_by = request.user
                obj.captured_at = timezone.now()
            super().save_model(request, obj, form, change)
            if previous != obj.status:
                ConsentEvent.objects.create(
                    account=obj.account,
                    previous_status=previous,
                    status=obj.status,
                    via=ConsentChannel.ADMIN,
                    actor=request.user,
                    details={"source": "django admin"},
                )


@admin.register(ConsentEvent)
class ConsentEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "account", "previous_status", "status", "via", "actor")
    list_filter = ("status", "via", "at")
    search_fields = ("account__name", "account__whatsapp_number", "actor__username")
    list_select_related = ("account", "actor")
    show_full_result_count = False
