"""Recording a change to one configuration object (template, number, HCP record, ...) in the audit trail.

Every path that changes such an object — an admin page, an import, a sync with
Meta, Meta's status webhook — writes its row through `change_record`, so the
rows share one shape:

    {"action": "added" | "changed" | "deleted", "model": "<app>.<model>",
     "object_id": ..., "object_repr": ..., "source": "admin" | "import" | "meta_sync" | "meta_webhook",
     "fields": {<field>: <new value>}, "previous": {<field>: <old value>}, ...}

and fill the same foreign keys (the number or the HCP the object is), which the
audit admin's filters and an HCP's history export read.
"""
import datetime
import decimal
import uuid

from django.db import models

from chats.compliance.audit import audit
from chats.models import Account, AuditEvent, Conversation, PhoneAssignment, PhoneNumber, Thread


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


def model_label(obj) -> str:
    return f"{obj._meta.app_label}.{obj._meta.model_name}"


def subject_links(obj, *, deleted: bool = False) -> dict:
    """The AuditEvent columns an admin filter or an HCP history reads: the number or HCP an object is.

    A deleted number or HCP is named in the details only: a foreign key from an
    append-only row would forbid the very delete it records.
    """
    if isinstance(obj, PhoneNumber):
        return {} if deleted else {"phone_number": obj}
    if isinstance(obj, PhoneAssignment):
        return {"phone_number": obj.phone_number}
    if isinstance(obj, Account):
        return {} if deleted else {"account": obj}
    if isinstance(obj, (Thread, Conversation)):  # a rep's thread, or the (number, HCP) window state
        return {"account": obj.account, "phone_number": obj.phone_number}
    return {}


def changed_values(before: dict, after: dict) -> tuple[dict, dict]:
    """(new values, previous values) of the keys whose value differs; values as `json_value` renders them."""
    fields, previous = {}, {}
    for name, value in after.items():
        new, old = json_value(value), json_value(before.get(name))
        if new != old:
            fields[name], previous[name] = new, old
    return fields, previous


def change_record(*, kind: str = AuditEvent.Kind.ADMIN_CHANGE, actor, obj, action: str, source: str,
                  object_id=None, **details) -> AuditEvent:
    """One audit row for one object added, changed or deleted. `object_id` names an already deleted object."""
    return audit(
        kind=kind,
        actor=actor,
        **subject_links(obj, deleted=action == "deleted"),
        action=action,
        model=model_label(obj),
        object_id=obj.pk if object_id is None else object_id,
        object_repr=str(obj),
        source=source,
        **details,
    )
