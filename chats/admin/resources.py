"""HCP accounts as data: import (CSV, XLSX, JSON) and export through the admin.

Columns: name, specialty, whatsapp_number, language, team (comma-separated
usernames). A row is identified by its WhatsApp number, normalised to E.164
before the lookup, so "+44 7700 900123" and "+447700900123" are the same HCP
and importing the same file twice changes nothing. HCP records are audited like
templates: every row an import writes leaves one `admin.change` row naming the
HCP (`chats/compliance/import_audit.py`).
"""
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from import_export import fields, resources, widgets

from chats.compliance.import_audit import AuditedImportMixin
from chats.models import Account
from chats.models.phones import normalize_e164
from templates_app.resources import RowErrorsMixin, TextWidget, cell_text


class PhoneWidget(widgets.CharWidget):
    """A phone number in any common writing, stored as E.164."""

    def clean(self, value, row=None, **kwargs):
        text = cell_text(value)
        if not text:
            raise ValueError("Give the HCP's WhatsApp number, e.g. +447700900123.")
        try:
            return normalize_e164(text)
        except ValidationError:
            # ValueError makes import-export report it on this column.
            raise ValueError(
                f"“{text}” is not a valid phone number; write it in international form, e.g. +447700900123."
            ) from None


class TeamWidget(widgets.ManyToManyWidget):
    """Usernames separated by commas; an unknown username is an error, not silently dropped."""

    def __init__(self):
        super().__init__(get_user_model(), separator=",", field="username")

    def clean(self, value, row=None, **kwargs):
        names = [name.strip() for name in cell_text(value).split(",") if name.strip()]
        users = list(self.model.objects.filter(username__in=names))
        unknown = sorted(set(names) - {user.username for user in users})
        if unknown:
            raise ValueError("Unknown username(s): " + ", ".join(unknown) + ".")
        return users

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        return ",".join(sorted(user.username for user in value.all()))


class AccountResource(AuditedImportMixin, RowErrorsMixin, resources.ModelResource):
    name = fields.Field(attribute="name", column_name="name", widget=TextWidget())
    specialty = fields.Field(attribute="specialty", column_name="specialty", widget=TextWidget())
    whatsapp_number = fields.Field(attribute="whatsapp_number", column_name="whatsapp_number", widget=PhoneWidget())
    language = fields.Field(attribute="language", column_name="language", widget=TextWidget(), default="en")
    team = fields.Field(attribute="team", column_name="team", widget=TeamWidget())

    class Meta:
        model = Account
        fields = ("name", "specialty", "whatsapp_number", "language", "team")
        import_id_fields = ("whatsapp_number",)
        import_order = export_order = ("name", "specialty", "whatsapp_number", "language", "team")
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True

    @classmethod
    def get_display_name(cls):
        return "Accounts (HCPs)"

    def filter_export(self, queryset, **kwargs):
        return super().filter_export(queryset, **kwargs).prefetch_related("team")

    def before_import(self, dataset, **kwargs):
        self._rows_by_number: dict[str, int] = {}

    def import_instance(self, instance, row, **kwargs):
        errors = self._import_collecting_errors(instance, row, **kwargs)
        # The team is saved after the row (many-to-many); check it now so a bad
        # username is a row error in the preview rather than a failure at save time.
        if "team" in row:
            try:
                self.fields["team"].clean(row)
            except ValueError as exc:
                errors["team"] = [ValidationError(str(exc))]
        if "whatsapp_number" not in errors:
            number = instance.whatsapp_number
            first = self._rows_by_number.setdefault(number, kwargs.get("row_number"))
            if first != kwargs.get("row_number"):
                errors["whatsapp_number"] = [
                    ValidationError(f"Duplicate: row {first} already has {number}; each HCP may appear once.")
                ]
        if errors:
            raise ValidationError(errors)
