"""Message templates as data: the columns admins import and export (CSV, XLSX, JSON).

Each row is identified by (waba_id, name, language), so importing the same file
twice changes nothing. Every row an import writes leaves one `admin.change`
audit row (`chats/compliance/import_audit.py`), and an import is all or nothing. Every problem in a row is reported as a validation error
on the column it concerns, so the admin's preview lists them row by row and
offers no "Confirm" button until the file is clean.
"""
import json

from django.core.exceptions import ValidationError
from import_export import fields, resources, results, widgets

from chats.compliance.import_audit import AuditedImportMixin
from chats.models import WhatsAppBusinessAccount
from templates_app.models import MessageTemplate

COLUMNS = (
    "waba_id",
    "name",
    "language",
    "kind",
    "usage",
    "meta_category",
    "meta_status",
    "body",
    "bindings",
    "display_order",
    "meta_template_id",
)


def cell_text(value) -> str:
    """A cell as text. Spreadsheets and JSON hand long ids over as numbers: 2.0e14 -> "200000000000000"."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


class TextWidget(widgets.CharWidget):
    """Trimmed text; numbers from spreadsheets become their digits."""

    def clean(self, value, row=None, **kwargs):
        return cell_text(value)


class WabaWidget(widgets.ForeignKeyWidget):
    """The WABA by its Meta id (not our primary key)."""

    def __init__(self):
        super().__init__(WhatsAppBusinessAccount, field="waba_id")

    def clean(self, value, row=None, **kwargs):
        waba_id = cell_text(value)
        if not waba_id:
            raise ValueError("Give the WhatsApp Business Account id (waba_id).")
        try:
            return WhatsAppBusinessAccount.objects.get(waba_id=waba_id)
        except WhatsAppBusinessAccount.DoesNotExist:
            # ValueError, not DoesNotExist: import-export turns it into a validation
            # error on this column instead of a traceback.
            raise ValueError(f"No WhatsApp Business Account with waba_id “{waba_id}”.") from None


class BindingsWidget(widgets.Widget):
    """Placeholder -> field, written as a JSON object: {"1": "account.name"}. Empty means none."""

    def clean(self, value, row=None, **kwargs):
        if isinstance(value, dict):  # a JSON file may hold the object itself
            data = value
        else:
            text = cell_text(value)
            if not text:
                return {}
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(
                    f"Not valid JSON ({exc.msg} at character {exc.pos + 1}); "
                    'write an object like {"1": "account.name"}.'
                ) from None
        if not isinstance(data, dict):
            raise ValueError('Bindings must be a JSON object like {"1": "account.name"}.')
        return {str(key): value for key, value in data.items()}

    def render(self, value, obj=None, **kwargs):
        return json.dumps(value or {}, ensure_ascii=False, sort_keys=True)


class OrderWidget(widgets.Widget):
    """A whole number >= 0; empty means the model's default."""

    def clean(self, value, row=None, **kwargs):
        text = cell_text(value)
        if not text:
            return None
        try:
            number = int(float(text)) if "." in text else int(text)
        except ValueError:
            raise ValueError(f"“{text}” is not a whole number.") from None
        if number < 0:
            raise ValueError("The display order cannot be negative.")
        return number

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else str(value)


class PlainError(results.Error):
    """A whole-file or unexpected error shown to the admin as its message, without a traceback."""

    @property
    def traceback(self):
        return ""


class RowErrorsMixin:
    """Row validation errors as an importer needs them: one clear message per column."""

    #: model attribute -> the file's column name, where they differ
    error_columns: dict[str, str] = {}

    def get_error_result_class(self):
        return PlainError

    def get_instance(self, instance_loader, row):
        # An identity column that does not parse (unknown WABA, bad number) identifies no
        # existing row; import_instance reports it on its column.
        try:
            return super().get_instance(instance_loader, row)
        except ValueError:
            return None

    def _import_collecting_errors(self, instance, row, **kwargs) -> dict:
        """Import the row's columns; return their validation errors by field instead of raising."""
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            return exc.update_error_dict({})
        return {}

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        """The import's own errors first; the model's checks only for the columns that parsed."""
        errors = dict(import_validation_errors or {})
        try:
            instance.full_clean(exclude=list(errors), validate_unique=validate_unique)
        except ValidationError as exc:
            for field, field_errors in exc.error_dict.items():
                # A column that did not parse (e.g. bad JSON) already says why; the
                # model's follow-on complaint about the same column would only confuse.
                if field not in errors:
                    errors[field] = [self._explain(instance, field, error) for error in field_errors]
        if errors:
            # Name the file's column, not the model attribute.
            for attribute, column in self.error_columns.items():
                if attribute in errors:
                    errors[column] = errors.pop(attribute)
            raise ValidationError(errors)

    @staticmethod
    def _explain(instance, field: str, error: ValidationError) -> ValidationError:
        """Django says "Value 'x' is not a valid choice."; an importer also needs the valid ones."""
        if error.code != "invalid_choice":
            return error
        choices = ", ".join(str(value) for value, _ in instance._meta.get_field(field).choices)
        return ValidationError(f"“{getattr(instance, field)}” is not one of: {choices}.", code="invalid_choice")


class MessageTemplateResource(AuditedImportMixin, RowErrorsMixin, resources.ModelResource):
    waba = fields.Field(attribute="waba", column_name="waba_id", widget=WabaWidget())
    name = fields.Field(attribute="name", column_name="name", widget=TextWidget())
    display_name = fields.Field(attribute="display_name", column_name="display_name", widget=TextWidget())
    language = fields.Field(attribute="language", column_name="language", widget=TextWidget())
    kind = fields.Field(attribute="kind", column_name="kind", widget=TextWidget())
    usage = fields.Field(attribute="usage", column_name="usage", widget=TextWidget())
    meta_category = fields.Field(attribute="meta_category", column_name="meta_category", widget=TextWidget())
    meta_status = fields.Field(attribute="meta_status", column_name="meta_status", widget=TextWidget())
    body = fields.Field(attribute="body", column_name="body", widget=widgets.CharWidget())
    bindings = fields.Field(attribute="bindings", column_name="bindings", widget=BindingsWidget())
    display_order = fields.Field(
        attribute="display_order", column_name="display_order", widget=OrderWidget(), default=100
    )
    meta_template_id = fields.Field(attribute="meta_template_id", column_name="meta_template_id", widget=TextWidget())

    class Meta:
        model = MessageTemplate
        # display_name is optional: files written before it existed import as they did
        fields = ("waba", *COLUMNS[1:], "display_name")
        import_id_fields = ("waba", "name", "language")
        import_order = export_order = ("waba", "name", "display_name", *COLUMNS[2:])
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True

    error_columns = {"waba": "waba_id"}

    @classmethod
    def get_display_name(cls):
        return "Message templates"

    def filter_export(self, queryset, **kwargs):
        return super().filter_export(queryset, **kwargs).select_related("waba")

    def before_import(self, dataset, **kwargs):
        # (waba_id, name, language) -> the first row that used it, to catch duplicates within one file.
        self._rows_by_identity: dict[tuple[str, str, str], int] = {}

    def import_instance(self, instance, row, **kwargs):
        errors = self._import_collecting_errors(instance, row, **kwargs)
        identity = tuple(cell_text(row.get(column)) for column in ("waba_id", "name", "language"))
        if all(identity) and "waba" not in errors:
            first = self._rows_by_identity.setdefault(identity, kwargs.get("row_number"))
            if first != kwargs.get("row_number"):
                errors.setdefault("name", []).append(
                    ValidationError(
                        f"Duplicate: row {first} already has name “{identity[1]}” and language "
                        f"“{identity[2]}” for this WABA; each pair may appear once."
                    )
                )
        if errors:
            raise ValidationError(errors)
