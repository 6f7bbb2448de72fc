"""Helpers for the few statements written out by hand, on the drain's hot path.

On this project's 2-core machine, building a query through the ORM cost more than running
it: a Conversation `SELECT … FOR UPDATE` of a drain's batch took 2.1 ms of CPU through the
ORM and 0.6 ms written out (docs/performance.md, "What changed on 2026-11-30"). The drain
runs a dozen such statements for every batch, so those are written out (chats/ingress/sql.py,
chats/conversations/announcements.py, chats/ingress/queue.py); everything else uses the ORM.

The SELECTs are portable SQL but for `among` (an array on PostgreSQL, an IN list elsewhere).
On SQLite (the embedded default) the INSERTs go through the ORM's bulk_create, and the
UPDATEs of many rows at once (PostgreSQL's `unnest`) row by row.
"""
from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Iterable
from datetime import datetime

from django.db import connection, models
from django.utils import timezone


def among(values: Iterable) -> tuple[str, list]:
    """The test "is one of `values`" to write after a column, and its parameters (a non-empty
    collection). On PostgreSQL `= ANY(%s)` with one array: one statement text whatever the
    number of values, so psycopg prepares it once (an `IN` list is a new statement for every
    length, each planned anew until it has run five times). Elsewhere `IN (%s, …)`."""
    params = list(values)
    if is_postgresql():
        return "= ANY(%s)", [params]
    return "IN (" + ", ".join(["%s"] * len(params)) + ")", params


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def for_update() -> str:
    """` FOR UPDATE` where the database locks rows (SQLite locks the whole database on write)."""
    return " FOR UPDATE" if connection.features.has_select_for_update else ""


def db_datetime(value: datetime | None):
    """A datetime as the database backend stores it (SQLite: naive UTC text), for written-out SQL."""
    return connection.ops.adapt_datetimefield_value(value)


# Field types whose attribute value the database driver takes as it is (JSON is wrapped).
_PLAIN_FIELDS = (models.AutoField, models.BigAutoField, models.BinaryField, models.BooleanField, models.CharField,
                 models.DateTimeField, models.ForeignKey, models.IntegerField, models.JSONField, models.TextField,
                 models.UUIDField)


@functools.cache
def _insert_plan(model: type[models.Model]) -> tuple[list[models.Field], str]:
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    unsupported = [f.name for f in fields if not isinstance(f, _PLAIN_FIELDS)
                   or (isinstance(f, models.JSONField) and f.encoder is not None)]
    if unsupported:  # a new kind of field needs its own conversion here (see bulk_insert)
        raise TypeError(f"bulk_insert cannot write {model.__name__}.{', '.join(unsupported)}")
    quote = connection.ops.quote_name
    table, columns = quote(model._meta.db_table), ", ".join(quote(f.column) for f in fields)
    sql = (f"INSERT INTO {table} ({columns}) SELECT {columns} FROM json_populate_recordset(NULL::{table}, %s::json)"
           f" RETURNING {quote(model._meta.pk.column)}")
    return fields, sql


def _json_value(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (bytes, memoryview)):
        return "\\x" + bytes(value).hex()  # bytea's hex input format
    raise TypeError(f"bulk_insert cannot write {type(value).__name__} values")


def bulk_insert(model: type[models.Model], objs: list[models.Model], *, ignore_conflicts: bool = False
                ) -> list[models.Model]:
    """`model.objects.bulk_create(objs)`, written out on PostgreSQL as one `INSERT … SELECT FROM
    json_populate_recordset(…)` with the rows as a single JSON parameter.

    Why: the ORM prepares every value of every row through its field (pre_save,
    get_db_prep_save), and psycopg parses the placeholders of any statement with more than 50
    parameters anew on every run; for a drain's batch both cost more than the INSERT itself.
    One parameter, one statement text per model: PostgreSQL parses the JSON, psycopg caches and
    prepares the statement. Values go as the rows hold them (`auto_now`/`auto_now_add` get the
    time now); any other kind of field than `_PLAIN_FIELDS`, or a JSONField with an encoder of
    its own, is refused. Sets each row's pk, except with `ignore_conflicts` (rows that would
    break a unique constraint are skipped, as bulk_create(ignore_conflicts=True) does)."""
    if not objs:
        return objs
    if not is_postgresql():
        return model.objects.bulk_create(objs, ignore_conflicts=ignore_conflicts)
    plan = _row_plan(model)
    for obj in objs:  # as bulk_create: a related row saved after it was assigned gives its id now
        obj._prepare_related_fields_for_save(operation_name="bulk_insert")
    now = timezone.now()
    rows = []
    for obj in objs:
        for _column, attname, stamped, _field in plan:
            if stamped:
                setattr(obj, attname, now)
        rows.append({column: getattr(obj, attname) for column, attname, _stamped, _field in plan})
    ids = _insert(model, rows, ignore_conflicts=ignore_conflicts)
    if ignore_conflicts:
        return objs  # which rows went in is not known (as bulk_create): no pks
    for obj, pk in zip(objs, ids, strict=True):
        obj.pk = pk
        obj._state.adding, obj._state.db = False, connection.alias
    return objs


def insert_rows(model: type[models.Model], rows: list[dict]) -> list[int]:
    """Rows given as {attname: value}, inserted as `bulk_insert` does, without a model instance per
    row (building one cost more than writing its row: docs/performance.md, "The drain's time per
    message"). A field a row leaves out takes its default (`auto_now`/`auto_now_add`: now).
    Returns the new ids, in order."""
    if not rows:
        return []
    if not is_postgresql():
        return [obj.pk for obj in model.objects.bulk_create([model(**row) for row in rows])]
    now = timezone.now()
    plan = _row_plan(model)
    written = []
    for row in rows:
        values = {}
        for column, attname, stamped, field in plan:
            if attname in row:
                values[column] = row[attname]
            elif stamped:
                values[column] = now
            else:
                values[column] = field.get_default()
        written.append(values)
    return _insert(model, written)


@functools.cache
def _row_plan(model: type[models.Model]) -> list[tuple[str, str, bool, models.Field]]:
    fields, _sql = _insert_plan(model)
    return [(f.column, f.attname, bool(getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)), f)
            for f in fields]


def _insert(model: type[models.Model], rows: list[dict], *, ignore_conflicts: bool = False) -> list[int]:
    _fields, sql = _insert_plan(model)
    if ignore_conflicts:
        sql = sql.replace(" RETURNING ", " ON CONFLICT DO NOTHING RETURNING ")
    with connection.cursor() as cursor:
        cursor.execute(sql, [json.dumps(rows, default=_json_value)])
        return [pk for (pk,) in cursor.fetchall()]


@functools.cache
def _load_plan(model: type[models.Model]) -> tuple[list[str], list[tuple[int, list, object]]]:
    """The model's attribute names in column order, and the converters its columns need here
    (what a QuerySet works out for every query: SQLite's datetimes, JSON): once per model."""
    fields = model._meta.concrete_fields
    converters = []
    for i, field in enumerate(fields):
        column = field.get_col(model._meta.db_table)
        found = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
        if found:
            converters.append((i, found, column))
    return [f.attname for f in fields], converters


@functools.cache
def model_columns(model: type[models.Model], alias: str) -> str:
    """The SELECT list `load_models` expects first: every concrete column of `model`, in order, of `alias`."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(f.column)}" for f in model._meta.concrete_fields)


def load_models(model: type[models.Model], sql: str, params: list, *, extra: tuple[str, ...] = ()) -> list:
    """`model.objects.raw(sql, params)` without its per-query set-up (working out the columns,
    their order and converters on every run cost more than a small query itself).

    `sql` selects `model_columns(model, alias)` and then one column for each name in `extra`,
    which each instance gets as an attribute of that name.
    """
    names, converters = _load_plan(model)
    width, alias = len(names), connection.alias
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    loaded = []
    for row in rows:
        values = list(row[:width])
        for i, functions, column in converters:
            for convert in functions:
                values[i] = convert(values[i], column, connection)
        obj = model.from_db(alias, names, values)
        for name, value in zip(extra, row[width:], strict=True):
            setattr(obj, name, value)
        loaded.append(obj)
    return loaded
