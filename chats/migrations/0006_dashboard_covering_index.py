"""PostgreSQL only: a covering index for the admin dashboard's per-day counts.

The dashboard's charts group a date range of messages by day, direction and
status (and thread and number); with these columns in the index PostgreSQL
answers them with an index-only scan (measured in docs/compliance.md). SQLite
has no INCLUDE, and its plain created_at index already serves the range.
"""
from django.db import migrations

INDEX = "chats_message_dashboard_cover"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON chats_message (created_at) "
            "INCLUDE (direction, status, thread_id, phone_number_id, sent_at)"
        )


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("chats", "0005_compliance_kinds_and_dashboard_indexes")]
    operations = [migrations.RunPython(forward, reverse)]
