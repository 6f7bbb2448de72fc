"""Recording a change to one configuration object (template, number, HCP record, ...) in the audit trail.

Every path that changes such an object — an admin page, an import, a sync with
Meta, Meta's status webhook — writes its row through `change_record`, so the
rows share one shape:

    {"action": "added" | "changed" | "deleted", "model": "<app>.<model>",
     "object_id": ..., "object_repr": ..., "source": "admin" | "import" | "meta_sync" | "meta_webhook",
     "fields": {<field>: <new value>}, "previous": {<field>: <old value>}, ...}

and fill the same foreign keys (the number or the HCP the object is), which the
audit admin's filters and an HCP's history export read. An HCP account added or
changed is also written to the integrations' change feed (`account.updated`).
"""
import datetime
import decimal
import uuid

from django.db import models

from chats.compliance.audit import audit
from chats.integration.feed import changes_record
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


# What an integration keeps of an HCP: a change to one of these is an `account.updated` change in the feed.
ACCOUNT_SYNCED_FIELDS = ("external_id", "name", "specialty", "country", "language", "team", "whatsapp_number",
                         "whatsapp_user_id", "whatsapp_parent_user_id", "whatsapp_username")


def _account_updated(*, account: Account, action: str, source: str, fields: dict, details: dict) -> None:
    """The HCP's added or changed synced fields, with their values now, as one feed change (same transaction)."""
    changed = [name for name in ACCOUNT_SYNCED_FIELDS if name in fields]
    if not changed:
        return
    values = {name: sorted(account.team.values_list("username", flat=True)) if name == "team"
              else getattr(account, name) for name in changed}
    by = {"integration": details["integration"]} if "integration" in details else {}
    changes_record([("account.updated", {"account": account.pk, "external_id": account.external_id,
                                         "action": action, "source": source, **by, "fields": values})])


def change_record(*, kind: str = AuditEvent.Kind.ADMIN_CHANGE, actor, obj, action: str, source: str,
                  object_id=None, **details) -> AuditEvent:
    """One audit row for one object added, changed or deleted. `object_id` names an already deleted object.

    Every path that writes an HCP account (the admin's form, its import, an integration's upsert) records
    the change here; an added or changed account is also an `account.updated` change in the feed, so a CRM
    syncing both ways hears of edits made in Rapport."""
    if isinstance(obj, Account) and action in ("added", "changed"):
        _account_updated(account=obj, action=action, source=source, fields=details.get("fields") or {},
                         details=details)
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
