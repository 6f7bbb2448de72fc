"""HCP accounts: list, edit (number normalised to E.164), import and export; every change audited."""
from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.core.exceptions import PermissionDenied
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import path
from django.db.models.functions import Coalesce
from import_export.admin import ImportExportModelAdmin
from import_export.formats import base_formats

from chats.admin.resources import AccountResource
from chats.compliance.admin_audit import AuditedImportAdminMixin
from chats.compliance.export import FORMATS, history_export_response, may_export_history
from chats.models import Account
from chats.models.phones import normalize_e164

DATA_FORMATS = (base_formats.CSV, base_formats.XLSX, base_formats.JSON)


class WhatsAppNumberField(forms.CharField):
    """A number in any common writing, as E.164.

    Normalised before the model's E.164 validator sees it, so "+44 7700 900123" is
    accepted and stored as "+447700900123" (Account.clean does the same); and since
    `has_changed` compares normalised values, re-typing the stored number in another
    writing is not a change (nor an audit row).
    """

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return value
        try:
            return normalize_e164(value)
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None


class AccountAdminForm(forms.ModelForm):
    class Meta:
        model = Account
        fields = ("name", "external_id", "specialty", "country", "whatsapp_number", "whatsapp_user_id",
                  "whatsapp_parent_user_id", "whatsapp_username", "language", "team")
        field_classes = {"whatsapp_number": WhatsAppNumberField}


class ConsentStatusFilter(admin.SimpleListFilter):
    title = "consent"
    parameter_name = "consent"

    def lookups(self, request, model_admin):
        return (("opted_in", "Opted in"), ("opted_out", "Opted out"), ("not_captured", "Not captured"))

    def queryset(self, request, queryset):
        if self.value() == "not_captured":
            return queryset.filter(consent__isnull=True)
        if self.value() in ("opted_in", "opted_out"):
            return queryset.filter(consent__status=self.value())
        return queryset


@admin.register(Account)
class AccountAdmin(AuditedImportAdminMixin, ImportExportModelAdmin):
    form = AccountAdminForm
    resource_classes = [AccountResource]
    import_formats = DATA_FORMATS
    export_formats = DATA_FORMATS
    list_display = ("name", "specialty", "whatsapp_number", "whatsapp_username", "language", "consent_status",
                    "team_size", "updated_at")
    list_filter = (ConsentStatusFilter, "language", "specialty")
    search_fields = ("name", "external_id", "whatsapp_number", "whatsapp_user_id", "whatsapp_username", "specialty")
    list_select_related = ("consent",)
    filter_horizontal = ("team",)
    readonly_fields = ("created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("name", "external_id", "specialty", "country", "language", "team")}),
        ("WhatsApp", {
            "fields": ("whatsapp_number", "whatsapp_user_id", "whatsapp_parent_user_id", "whatsapp_username"),
            "description": "WhatsApp reaches an HCP by phone number or, for an HCP with a username, by user id: "
                           "one is enough. Rapport learns the other when a webhook carries both.",
        }),
        (None, {"fields": ("created_at", "updated_at")}),
    )
    change_form_template = "admin/chats/account/change_form.html"  # adds the "Export history" buttons

    def get_urls(self):
        export = self.admin_site.admin_view(self.export_history_view)
        return [path("<int:account_id>/history.<str:fmt>", export, name="chats_account_history"), *super().get_urls()]

    def export_history_view(self, request, account_id: int, fmt: str):
        """Stream the HCP's whole history (staff with view rights on accounts; see docs/compliance.md)."""
        if not may_export_history(user=request.user):
            raise PermissionDenied
        if fmt not in FORMATS:
            raise Http404("Unknown export format.")
        account = get_object_or_404(Account, pk=account_id)
        return history_export_response(account=account, fmt=fmt, actor=request.user)

    def get_queryset(self, request):
        # A correlated subquery, not a JOIN + GROUP BY: with 100,000 HCPs the database
        # then counts teams only for the page it returns.
        team_sizes = (
            Account.team.through.objects.filter(account=OuterRef("pk"))
            .values("account")
            .annotate(size=Count("pk"))
            .values("size")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(team_size=Coalesce(Subquery(team_sizes, output_field=IntegerField()), 0))
        )

    @admin.display(description="Consent", ordering="consent__status")
    def consent_status(self, account):
        record = getattr(account, "consent", None)
        return record.get_status_display() if record else "Not captured"

    @admin.display(description="Team", ordering="team_size")
    def team_size(self, account):
        return account.team_size
