"""Every admin add, change and delete of a compliance-relevant object leaves one AuditEvent.

One mixin does it for every ModelAdmin that includes it: Django calls
`construct_change_message` once per save (with the form and the saved inline
formsets), then `log_addition` / `log_change`; deletes go through
`log_deletions` (the delete page and the bulk action alike). We build the
details where the form is at hand and write the row where Django logs, inside
the admin's own transaction, so a rolled-back save leaves no audit row.

Imports are audited by the resource (`chats/compliance/import_audit.py`), row by
row inside the import's transaction; `AuditedImportAdminMixin` only hands it the
file's format and refuses to report a rolled-back import as done.

Secret fields are never written: a change to one is recorded as
"<field> changed", without the value.
"""
from django.contrib import messages
from django.http import HttpResponseRedirect
from django.urls import reverse

from chats.compliance.changes import change_record, json_value, model_label

_PENDING = "_rapport_admin_audit"


def _fields_of(*, names, values, secret_fields) -> tuple[dict, list[str]]:
    fields, secrets = {}, []
    for name in names:
        if name in secret_fields:
            secrets.append(f"{name} changed")
        else:
            fields[name] = json_value(values(name))
    return fields, secrets


class AuditedAdminMixin:
    """Put before `admin.ModelAdmin` in the bases. `audit_secret_fields` names write-only fields."""

    audit_secret_fields: tuple[str, ...] = ()

    def construct_change_message(self, request, form, formsets, add=False):
        fields, secrets = _fields_of(
            names=[n for n in form.changed_data if not n.startswith("clear_") or n[6:] not in self.audit_secret_fields],
            values=lambda n: form.cleaned_data.get(n),
            secret_fields=self.audit_secret_fields,
        )
        inlines = []
        for formset in formsets or []:
            for obj in formset.new_objects:
                values = {f.name: json_value(getattr(obj, f.name)) for f in obj._meta.fields
                          if f.editable and not f.primary_key and f.name != formset.fk.name}
                inlines.append({"model": model_label(obj), "action": "added", "object_id": obj.pk,
                                "object_repr": str(obj), "fields": values})
            for obj, changed in formset.changed_objects:
                inlines.append({"model": model_label(obj), "action": "changed", "object_id": obj.pk,
                                "object_repr": str(obj),
                                "fields": {n: json_value(getattr(obj, n, None)) for n in changed}})
            for obj in formset.deleted_objects:
                inlines.append({"model": model_label(obj), "action": "deleted", "object_id": obj.pk,
                                "object_repr": str(obj)})
        setattr(request, _PENDING, {"fields": fields, "secrets": secrets, "inlines": inlines})
        return super().construct_change_message(request, form, formsets, add)

    def log_addition(self, request, obj, message):
        self._audit_admin_change(request, obj, "added")
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        self._audit_admin_change(request, obj, "changed")
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            change_record(actor=request.user, obj=obj, action="deleted", source="admin")
        return super().log_deletions(request, queryset)

    def _audit_admin_change(self, request, obj, action):
        pending = getattr(request, _PENDING, None) or {"fields": {}, "secrets": [], "inlines": []}
        setattr(request, _PENDING, None)
        if action == "changed" and not (pending["fields"] or pending["secrets"] or pending["inlines"]):
            return  # "Save" without a change: Django logs "No fields changed."; nothing happened
        change_record(actor=request.user, obj=obj, action=action, source="admin", **pending)


class AuditedImportAdminMixin(AuditedAdminMixin):
    """For an `ImportExportModelAdmin` whose resources include `AuditedImportMixin`; put it first in the bases."""

    def get_import_data_kwargs(self, **kwargs):
        # The format the admin chose (csv, xlsx, json) for the import's audit rows.
        form = kwargs.get("form")
        data = super().get_import_data_kwargs(**kwargs)
        chosen = getattr(form, "cleaned_data", {}).get("format")
        if chosen not in (None, ""):
            data["file_format"] = self.get_import_formats()[int(chosen)]().get_title()
        return data

    def process_result(self, result, request):
        # A confirmed import with a failing row was rolled back whole (see AuditedImportMixin):
        # say so, instead of "Import finished: N new" and admin-log entries for rows that are not there.
        if result.has_errors() or result.has_validation_errors():
            self.message_user(request, "Nothing was imported: " + _first_problems(result)
                              + " Upload the file again to see every problem.", messages.ERROR)
            opts = self.model._meta
            return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_import",
                                                current_app=self.admin_site.name))
        return super().process_result(result, request)


def _first_problems(result, limit: int = 3) -> str:
    problems = [str(error.error) for error in result.base_errors]
    problems += [f"row {row.number}: {error.error}" for row in result.error_rows for error in row.errors]
    for row in result.invalid_rows:
        for column, column_errors in row.field_specific_errors.items():
            problems += [f"row {row.number} → {column}: {message}" for message in column_errors]
        problems += [f"row {row.number}: {message}" for message in row.non_field_specific_errors]
    shown = "; ".join(problems[:limit]) or "the file has errors"
    return shown + ("; …" if len(problems) > limit else "") + "."
