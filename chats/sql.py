"""Helpers for the few statements written out by hand, on the drain's hot path.

On this project's 2-core machine, building a query through the ORM cost more than running
it: a Conversation `SELECT … FOR UPDATE` of a drain's batch took 2.1 ms of CPU through the
ORM and 0.6 ms written out and loaded with `Model.objects.raw` (docs/performance.md,
"Ingest"). The drain runs a dozen such statements for every batch, so those are written out
(chats/inbound.py, chats/windows.py); everything else uses the ORM.

The SELECTs are portable SQL. On SQLite (the embedded default) the INSERTs go through the
ORM's bulk_create, and the UPDATEs of many rows at once (PostgreSQL's `unnest`) row by row.
"""
from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime

from django.db import connection, models
from django.utils import timezone


def in_list(values: Iterable) -> tuple[str, list]:
    """The `(%s, %s, …)` of an `IN` and its parameters, for a non-empty collection."""
    params = list(values)
    return "(" + ", ".join(["%s"] * len(params)) + ")", params


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def for_update() -> str:
    """` FOR UPDATE` where the database locks rows (SQLite locks the whole database on write)."""
    return " FOR UPDATE" if connection.features.has_select_for_update else ""


def db_datetime(value: datetime | None):
    """A datetime as the database backend stores it (SQLite: naive UTC text), for written-out SQL."""
    return connection.ops.adapt_datetimefield_value(value)


# Field types whose attribute value the database driver takes as it is (JSON is wrapped).
_PLAIN_FIELDS = (models.AutoField, models.BigAutoField, models.BooleanField, models.CharField, models.DateTimeField,
                 models.ForeignKey, models.IntegerField, models.JSONField, models.TextField, models.UUIDField)


@functools.cache
def _insert_plan(model: type[models.Model]) -> tuple[list[models.Field], str, str]:
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    unsupported = [f.name for f in fields if not isinstance(f, _PLAIN_FIELDS)]
    if unsupported:  # a new kind of field needs its own conversion here (see bulk_insert)
        raise TypeError(f"bulk_insert cannot write {model.__name__}.{', '.join(unsupported)}")
    quote = connection.ops.quote_name
    head = f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) VALUES "
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    return fields, head, row


INSERT_ROWS = 500  # rows per statement: PostgreSQL takes at most 65,535 parameters in one


def bulk_insert(model: type[models.Model], objs: list[models.Model]) -> list[models.Model]:
    """`model.objects.bulk_create(objs)`, written out on PostgreSQL as `INSERT … VALUES (…), (…)
    RETURNING id`: the ORM prepares every value of every row through its field (pre_save,
    get_db_prep_save), which for a drain's batch cost more than the INSERT itself. Values go
    as the rows hold them: `auto_now`/`auto_now_add` get the time now, JSON is wrapped; any
    other kind of field than `_PLAIN_FIELDS` is refused. Sets each row's pk."""
    if not objs:
        return objs
    if not is_postgresql():
        return model.objects.bulk_create(objs)
    fields, head, row = _insert_plan(model)
    for obj in objs:  # as bulk_create: a related row saved after it was assigned gives its id now
        obj._prepare_related_fields_for_save(operation_name="bulk_insert")
    now = timezone.now()
    stamped = [f.attname for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)]
    json = {f.attname: f.encoder for f in fields if isinstance(f, models.JSONField)}
    adapt_json = connection.ops.adapt_json_value
    names = [f.attname for f in fields]
    returning = f" RETURNING {connection.ops.quote_name(model._meta.pk.column)}"
    for start in range(0, len(objs), INSERT_ROWS):
        chunk = objs[start:start + INSERT_ROWS]
        params = []
        for obj in chunk:
            for name in stamped:
                setattr(obj, name, now)
            params += [adapt_json(getattr(obj, name), json[name]) if name in json else getattr(obj, name)
                       for name in names]
        with connection.cursor() as cursor:
            cursor.execute(head + ", ".join([row] * len(chunk)) + returning, params)
            ids = [pk for (pk,) in cursor.fetchall()]
        for obj, pk in zip(chunk, ids, strict=True):
            obj.pk = pk
            obj._state.adding, obj._state.db = False, connection.alias
    return objs
