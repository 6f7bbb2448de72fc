"""Imports leave the same `admin.change` rows as the admin's pages: one per row an import adds, changes or deletes.

`AuditedImportMixin` goes first in a django-import-export resource's bases. For
each row it notes the object's values before the row is applied
(`after_init_instance`); once the row is saved with its many-to-many fields
(`after_import_row`, still inside the row's savepoint) it writes one row through
`change_record`:

- actor: the importing admin (import-export passes the request's `user`);
- details: `source` "import", `import` {file_name, format, row} and `fields`:
  every column the file set (with its stored value) for "added", the new values
  of the changed fields for "changed" (with their old values in `previous`);
  "deleted" names the object only, as an admin delete does;
- nothing for a skipped (unchanged) row and nothing in the preview (dry run).

The whole import is one transaction, and a failing row (an error, or a
validation error found at confirm time) rolls back every row of the file and
every audit row with it: an import is all or nothing.
"""
import copy

from import_export import widgets
from import_export.results import RowResult

from chats.compliance.changes import change_record, changed_values, json_value

ACTIONS = {
    RowResult.IMPORT_TYPE_NEW: "added",
    RowResult.IMPORT_TYPE_UPDATE: "changed",
    RowResult.IMPORT_TYPE_DELETE: "deleted",
}


class AuditedImportMixin:
    def get_use_transactions(self):
        return True  # each row and its audit row commit together, or neither does

    def import_data(self, dataset, **kwargs):
        kwargs.setdefault("rollback_on_validation_errors", True)
        return super().import_data(dataset, **kwargs)

    def after_init_instance(self, instance, new, row, **kwargs):
        super().after_init_instance(instance, new, row, **kwargs)
        self._audit_pending = None
        if kwargs.get("dry_run"):
            return  # the preview writes nothing, and neither does its audit
        fields = [field for field in self.get_import_fields() if field.attribute and field.column_name in row]
        self._audit_pending = {
            "fields": fields,
            "instance": instance,
            "object_id": instance.pk,
            # rendered now: the row's columns are about to overwrite the instance
            "before": {} if new else copy.deepcopy(_json_values(instance, fields)),
        }

    def after_import_row(self, row, row_result, **kwargs):
        super().after_import_row(row, row_result, **kwargs)
        pending, self._audit_pending = getattr(self, "_audit_pending", None), None
        action = ACTIONS.get(row_result.import_type)
        if pending is None or action is None:
            return
        instance, details = pending["instance"], {}
        if action == "added":
            details["fields"] = _json_values(instance, pending["fields"])
        elif action == "changed":
            details["fields"], details["previous"] = changed_values(
                pending["before"], _json_values(instance, pending["fields"])
            )
            if not details["fields"]:
                return  # saved, but no column the file holds differs: nothing happened
        user = kwargs.get("user")
        change_record(
            actor=user if getattr(user, "pk", None) else None,
            obj=instance,
            action=action,
            source="import",
            object_id=pending["object_id"] if action == "deleted" else None,
            **details,
            **{"import": {"file_name": kwargs.get("file_name") or "", "format": kwargs.get("file_format") or "",
                          "row": kwargs.get("row_number")}},
        )


def _json_values(instance, fields) -> dict:
    """Model attribute -> JSON value for the given resource fields; a many-to-many field as its objects by id."""
    values = {}
    for field in fields:
        value = field.get_value(instance)
        if isinstance(field.widget, widgets.ManyToManyWidget):
            value = sorted(value.all(), key=lambda obj: obj.pk) if value is not None else []
        values[field.attribute] = json_value(value)
    return values
