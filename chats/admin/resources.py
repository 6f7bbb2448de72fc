"""HCP accounts as data: import (CSV, XLSX, JSON) and export through the admin.

Columns: external_id (the CRM's id), name, specialty, country, whatsapp_number, whatsapp_user_id,
whatsapp_parent_user_id, whatsapp_username, language, team (comma-separated usernames), and optionally
consent captured elsewhere: consent_status (opted_in / opted_out), consent_captured_at, consent_source,
consent_method, consent_wording (imported as the integrations' API imports it: consent/services.py
`consent_import`). A row needs a WhatsApp number or a WhatsApp user id (one is enough) and is identified
by its external_id, else by its number, normalised to E.164 before the lookup (so "+44 7700 900123" and
"+447700900123" are the same HCP), else by its user id; importing the same file twice changes nothing. HCP records are audited like
templates: every row an import writes leaves one `admin.change` row naming the
HCP (`chats/compliance/import_audit.py`).
"""
from django.contrib.auth import get_user_model
from datetime import datetime, timezone as dt_timezone

from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_datetime
from import_export import fields, resources, widgets

from chats.compliance.import_audit import AuditedImportMixin
from chats.models import Account
from chats.errors import ConsentRefused
from chats.models.phones import normalize_e164
from consent.models import ConsentChannel, ConsentMethod
from consent.services import consent_import
from templates_app.resources import RowErrorsMixin, TextWidget, cell_text


class PhoneWidget(widgets.CharWidget):
    """A phone number in any common writing, stored as E.164."""

    def clean(self, value, row=None, **kwargs):
        text = cell_text(value)
        if not text:
            if row is not None and cell_text(row.get("whatsapp_user_id")):
                return None  # known by user id alone
            raise ValueError("Give the HCP's WhatsApp number (e.g. +447700900123) or WhatsApp user id.")
        try:
            return normalize_e164(text)
        except ValidationError:
            # ValueError makes import-export report it on this column.
            raise ValueError(
                f"“{text}” is not a valid phone number; write it in international form, e.g. +447700900123."
            ) from None


class OptionalTextWidget(widgets.CharWidget):
    """Text that is absent (NULL) when the cell is empty, for unique columns many rows may leave empty."""

    def clean(self, value, row=None, **kwargs):
        return cell_text(value) or None


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


CONSENT_COLUMNS = ("consent_status", "consent_captured_at", "consent_source", "consent_method", "consent_wording")


def consent_of_row(row) -> dict | None:
    """The consent a row imports (consent_import's arguments), None without a consent_status; ValueError
    naming the column when a cell is wrong."""
    status = cell_text(row.get("consent_status")).lower()
    if not status:
        return None
    if status not in ("opted_in", "opted_out"):
        raise ValueError("consent_status: write opted_in or opted_out.")
    raw = row.get("consent_captured_at")
    captured_at = raw if isinstance(raw, datetime) else parse_datetime(cell_text(raw))
    if captured_at is None:
        raise ValueError("consent_captured_at: write a date and time, e.g. 2026-01-10T09:00:00Z.")
    if captured_at.tzinfo is None:
        captured_at = captured_at.replace(tzinfo=dt_timezone.utc)
    source = cell_text(row.get("consent_source"))
    if not source:
        raise ValueError("consent_source: say where the consent was captured, e.g. Veeva CRM.")
    method = None
    if code := cell_text(row.get("consent_method")):
        method = ConsentMethod.objects.filter(code=code).first()
        if method is None:
            raise ValueError(f"consent_method: no consent method has the code {code!r}.")
    return {"status": status, "captured_at": captured_at, "source": source, "method": method,
            "wording": cell_text(row.get("consent_wording"))}


class AccountResource(AuditedImportMixin, RowErrorsMixin, resources.ModelResource):
    external_id = fields.Field(attribute="external_id", column_name="external_id", widget=OptionalTextWidget())
    country = fields.Field(attribute="country", column_name="country", widget=TextWidget())
    name = fields.Field(attribute="name", column_name="name", widget=TextWidget())
    specialty = fields.Field(attribute="specialty", column_name="specialty", widget=TextWidget())
    whatsapp_number = fields.Field(attribute="whatsapp_number", column_name="whatsapp_number", widget=PhoneWidget())
    whatsapp_user_id = fields.Field(attribute="whatsapp_user_id", column_name="whatsapp_user_id",
                                    widget=OptionalTextWidget())
    whatsapp_parent_user_id = fields.Field(attribute="whatsapp_parent_user_id", column_name="whatsapp_parent_user_id",
                                           widget=TextWidget())
    whatsapp_username = fields.Field(attribute="whatsapp_username", column_name="whatsapp_username", widget=TextWidget())
    language = fields.Field(attribute="language", column_name="language", widget=TextWidget(), default="en")
    team = fields.Field(attribute="team", column_name="team", widget=TeamWidget())

    class Meta:
        model = Account
        fields = ("external_id", "name", "specialty", "country", "whatsapp_number", "whatsapp_user_id",
                  "whatsapp_parent_user_id", "whatsapp_username", "language", "team")
        import_id_fields = ("whatsapp_number",)
        import_order = export_order = fields
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

    def get_instance(self, instance_loader, row):
        """The HCP this row names: by external id, else by WhatsApp number, else by WhatsApp user id."""
        external_id = cell_text(row.get("external_id"))
        if external_id and (found := Account.objects.filter(external_id=external_id).first()):
            return found
        try:
            number = self.fields["whatsapp_number"].clean(row)
        except (ValueError, KeyError):
            number = None
        if number and (found := Account.objects.filter(whatsapp_number=number).first()):
            return found
        user_id = cell_text(row.get("whatsapp_user_id"))
        return Account.objects.filter(whatsapp_user_id=user_id).first() if user_id else None

    def import_instance(self, instance, row, **kwargs):
        errors = self._import_collecting_errors(instance, row, **kwargs)
        # The team is saved after the row (many-to-many); check it now so a bad
        # username is a row error in the preview rather than a failure at save time.
        if "team" in row:
            try:
                self.fields["team"].clean(row)
            except ValueError as exc:
                errors["team"] = [ValidationError(str(exc))]
        try:
            self._consent = consent_of_row(row)
        except ValueError as exc:
            column, _, message = str(exc).partition(": ")
            errors[column] = [ValidationError(message)]
        for column in ("whatsapp_number", "whatsapp_user_id"):
            value = getattr(instance, column)
            if column in errors or not value:
                continue
            first = self._rows_by_number.setdefault(value, kwargs.get("row_number"))
            if first != kwargs.get("row_number"):
                errors[column] = [
                    ValidationError(f"Duplicate: row {first} already has {value}; each HCP may appear once.")
                ]
        if errors:
            raise ValidationError(errors)

    def after_save_instance(self, instance, row, **kwargs):
        super().after_save_instance(instance, row, **kwargs)
        consent = getattr(self, "_consent", None)
        if consent is None:
            return
        user = kwargs.get("user")
        try:
            consent_import(account=instance, actor=user if getattr(user, "pk", None) else None,
                           via=ConsentChannel.IMPORT, **consent)
        except ConsentRefused as exc:
            raise ValidationError({"consent_status": [exc.detail]}) from None
