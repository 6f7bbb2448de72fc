"""Trigram indexes for account search on PostgreSQL (docs/performance.md).

Measured at 100,000 accounts: `name__icontains` (UPPER(name) LIKE '%...%') was a
sequential scan of every account, ~94 ms of a 131 ms query; with a GIN trigram index
on UPPER(name) the same query took 21 ms, and a selective search 2 ms. The number
search (`whatsapp_number LIKE '%digits%'`) gets the same kind of index. Other
databases (SQLite on the embedded default) are left as they are.
"""
from django.db import migrations

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS chats_account_name_upper_trgm ON chats_account USING gin (UPPER(name) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS chats_account_number_trgm ON chats_account USING gin (whatsapp_number gin_trgm_ops)",
]
BACKWARD = [
    "DROP INDEX IF EXISTS chats_account_name_upper_trgm",
    "DROP INDEX IF EXISTS chats_account_number_trgm",
]


def _run(statements):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for sql in statements:
                schema_editor.execute(sql)
    return apply


class Migration(migrations.Migration):
    dependencies = [("chats", "0003_audit_event_append_only")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
