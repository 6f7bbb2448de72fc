"""Message templates: edit, and import/export as CSV, XLSX or JSON (see docs/admin.md)."""
from django.contrib import admin
from django.utils.html import format_html_join
from import_export.admin import ImportExportModelAdmin
from import_export.formats import base_formats

from chats.compliance.admin_audit import AuditedImportAdminMixin
from templates_app.models import BINDING_FIELDS, MessageTemplate
from templates_app.resources import MessageTemplateResource

DATA_FORMATS = (base_formats.CSV, base_formats.XLSX, base_formats.JSON)


@admin.register(MessageTemplate)
class MessageTemplateAdmin(AuditedImportAdminMixin, ImportExportModelAdmin):
    resource_classes = [MessageTemplateResource]
    import_formats = DATA_FORMATS
    export_formats = DATA_FORMATS
    list_display = (
        "name", "display_name", "language", "waba", "kind", "usage", "meta_category", "meta_status", "quality_score",
        "display_order", "updated_at",
    )
    list_filter = ("kind", "usage", "meta_status", "meta_category", "language", "waba")
    search_fields = ("name", "display_name", "body", "meta_template_id")
    list_select_related = ("waba",)
    readonly_fields = ("binding_fields", "quality_score", "status_reason", "last_synced_at", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("waba", "name", "display_name", "language", "kind", "usage", "display_order")}),
        ("Content", {"fields": ("body", "bindings", "binding_fields")}),
        ("Meta", {"fields": ("meta_category", "meta_status", "quality_score", "meta_template_id", "status_reason",
                             "last_synced_at")}),
        ("Record", {"fields": ("created_at", "updated_at")}),
    )

    @admin.display(description="Fields a placeholder may be bound to")
    def binding_fields(self, template=None):
        return format_html_join(
            "", "<div><code>{}</code> — {}</div>", sorted(BINDING_FIELDS.items())
        )
