"""Indexes that each composite index already leads (docs/performance.md, "Ingest").

Every row written pays for every index of its table, and an HCP message writes one message
and three audit rows: 17 and 13 indexes. The single-column indexes on audit kind, actor,
account and number, and on message account and status, are each the first column of a
(…, at) or (…, created_at) index that serves the same lookups (and PROTECT's checks on
delete), so they go: 14 and 8. Only the indexes are dropped: AlterField would also drop and
re-add the foreign keys, which re-checks every row while holding off writes.
"""
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# Django's names for them (the _like twins exist on PostgreSQL only).
INDEXES = {
    "chats_auditevent_account_id_88391f96": "chats_auditevent (account_id)",
    "chats_auditevent_actor_id_0cb0ccf1": "chats_auditevent (actor_id)",
    "chats_auditevent_kind_ab1aea21": "chats_auditevent (kind)",
    "chats_auditevent_kind_ab1aea21_like": "chats_auditevent (kind varchar_pattern_ops)",
    "chats_auditevent_phone_number_id_c66e2449": "chats_auditevent (phone_number_id)",
    "chats_message_account_id_58ac3c48": "chats_message (account_id)",
    "chats_message_status_c155d854": "chats_message (status)",
    "chats_message_status_c155d854_like": "chats_message (status varchar_pattern_ops)",
}


def drop(apps, schema_editor):
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


def recreate(apps, schema_editor):
    for name, target in INDEXES.items():
        if name.endswith("_like") and schema_editor.connection.vendor != "postgresql":
            continue
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")


class Migration(migrations.Migration):

    dependencies = [
        ("chats", "0011_dashboard_rollup"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='auditevent',
                    name='account',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='chats.account'),
                ),
                migrations.AlterField(
                    model_name='auditevent',
                    name='actor',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
                ),
                migrations.AlterField(
                    model_name='auditevent',
                    name='kind',
                    field=models.CharField(choices=[('message.queued', 'Message queued'), ('message.received', 'Message received'), ('message.status', 'Message status changed'), ('message.failed', 'Message failed'), ('send.refused', 'Send refused'), ('send.restricted_phrases', 'Restricted phrases rejected'), ('window.opened', 'Window opened'), ('window.rolled', 'Window rolled'), ('window.ended', 'Window ended'), ('window.expired', 'Window expired'), ('routing.decision', 'Routing decision'), ('link.opened', 'Tracked link opened'), ('admin.change', 'Admin change'), ('template.synced', 'Template updated from Meta'), ('history.exported', 'History exported'), ('retention.redacted', 'Message bodies redacted (retention)')], max_length=40),
                ),
                migrations.AlterField(
                    model_name='auditevent',
                    name='phone_number',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='chats.phonenumber'),
                ),
                migrations.AlterField(
                    model_name='message',
                    name='account',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='messages', to='chats.account'),
                ),
                migrations.AlterField(
                    model_name='message',
                    name='status',
                    field=models.CharField(choices=[('queued', 'Queued'), ('sent', 'Sent'), ('delivered', 'Delivered'), ('read', 'Read'), ('failed', 'Failed'), ('received', 'Received')], default='queued', max_length=12),
                ),
            ],
            database_operations=[migrations.RunPython(drop, recreate)],
        ),
    ]
