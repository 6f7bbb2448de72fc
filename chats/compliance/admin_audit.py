"""Every admin add, change and delete of a compliance-relevant object leaves one AuditEvent.

One mixin does it for every ModelAdmin that includes it: Django calls
`construct_change_message` once per save (with the form and the saved inline
formsets), then `log_addition` / `log_change`; deletes go through
`log_deletions` (the delete page and the bulk action alike). We build the
details where the form is at hand and write the row where Django logs, inside
the admin's own transaction, so a rolled-back save leaves no audit row.

Secret fields are never written: a change to one is recorded as
"<field> changed", without the value.
"""
import datetime
import decimal
import uuid

from django.db import models

from chats.audit import audit
from chats.models import AuditEvent, PhoneAssignment, PhoneNumber

_PENDING = "_rapport_admin_audit"


def json_value(value):
    """A JSON-safe rendering of a form or model value (objects as {id, repr}, dates as ISO 8601)."""
    if isinstance(value, models.Model):
        return {"id": value.pk, "repr": str(value)}
    if isinstance(value, (models.QuerySet, list, tuple, set)):
        return [json_value(v) for v in value]
    if isinstance(value, (datetime.date, datetime.datetime, datetime.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if value is None or isinstance(value, (bool, int, float, str, dict)):
        return value
    return str(value)


def _fields_of(*, names, values, secret_fields) -> tuple[dict, list[str]]:
    fields, secrets = {}, []
    for name in names:
        if name in secret_fields:
            secrets.append(f"{name} changed")
        else:
            fields[name] = json_value(values(name))
    return fields, secrets


def _label(obj) -> str:
    return f"{obj._meta.app_label}.{obj._meta.model_name}"


def _subject_links(obj) -> dict:
    """The AuditEvent columns an admin filter reads: the number an object belongs to."""
    if isinstance(obj, PhoneNumber):
        return {"phone_number": obj}
    if isinstance(obj, PhoneAssignment):
        return {"phone_number": obj.phone_number}
    return {}


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
                inlines.append({"model": _label(obj), "action": "added", "object_id": obj.pk,
                                "object_repr": str(obj), "fields": values})
            for obj, changed in formset.changed_objects:
                inlines.append({"model": _label(obj), "action": "changed", "object_id": obj.pk,
                                "object_repr": str(obj),
                                "fields": {n: json_value(getattr(obj, n, None)) for n in changed}})
            for obj in formset.deleted_objects:
                inlines.append({"model": _label(obj), "action": "deleted", "object_id": obj.pk,
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
            # A deleted number is named in the details only: a foreign key from an
            # append-only row would forbid the delete it records.
            links = {} if isinstance(obj, PhoneNumber) else _subject_links(obj)
            audit(kind=AuditEvent.Kind.ADMIN_CHANGE, actor=request.user, **links,
                  action="deleted", model=_label(obj), object_id=obj.pk, object_repr=str(obj))
        return super().log_deletions(request, queryset)

    def _audit_admin_change(self, request, obj, action):
        pending = getattr(request, _PENDING, None) or {"fields": {}, "secrets": [], "inlines": []}
        setattr(request, _PENDING, None)
        if action == "changed" and not (pending["fields"] or pending["secrets"] or pending["inlines"]):
            return  # "Save" without a change: Django logs "No fields changed."; nothing happened
        audit(kind=AuditEvent.Kind.ADMIN_CHANGE, actor=request.user, **_subject_links(obj),
              action=action, model=_label(obj), object_id=obj.pk, object_repr=str(obj), **pending)
