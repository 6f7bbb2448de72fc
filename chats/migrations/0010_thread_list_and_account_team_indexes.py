"""Indexes for the thread list and for a rep's accounts (docs/performance.md, "Thread list and
account reads at scale").

Measured at 100,000 accounts, 1,000,000 messages and 200 reps:
- The thread list orders by last_activity_at DESC NULLS LAST, created_at DESC, id DESC; the
  old (user, -last_activity_at) index did not match it (DESC is NULLS FIRST in PostgreSQL), so
  every thread of the rep was joined and sorted before the first 51 were kept. With an index in
  exactly that order PostgreSQL reads 51 threads and stops. SQLite accepts no NULLS LAST in an
  index, but its DESC already puts NULLs last, so there the index omits it.
- Message.thread loses its own index: (thread, created_at, id) serves every lookup by thread,
  and while both existed PostgreSQL counted a thread's unread messages through the narrower one,
  reading every message of the thread (30,000 for one rep: 24 ms of a 25 ms thread list).
- (user_id, account_id) on the account team: a rep's team as an index-only scan instead of
  ~500 scattered heap pages; every account list and search starts from it.
"""
import django.db.models.deletion
from django.db import migrations, models

THREAD_INDEX = "chats_thread_user_activity"
TEAM_INDEX = "chats_account_team_user_account"
MESSAGE_THREAD_INDEX = "chats_message_thread_id_bc73fcff"  # the one Django made for the foreign key


def forward(apps, schema_editor):
    nulls_last = " NULLS LAST" if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {THREAD_INDEX} ON chats_thread "
        f"(user_id, last_activity_at DESC{nulls_last}, created_at DESC, id DESC)"
    )
    schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {TEAM_INDEX} ON chats_account_team (user_id, account_id)")


def reverse(apps, schema_editor):
    schema_editor.execute(f"DROP INDEX IF EXISTS {THREAD_INDEX}")
    schema_editor.execute(f"DROP INDEX IF EXISTS {TEAM_INDEX}")


class Migration(migrations.Migration):

    dependencies = [
        ("chats", "0009_template_synced_kind"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="thread",
            name="chats_threa_user_id_c7b2eb_idx",
        ),
        # Only the index goes: AlterField would also drop and re-add the foreign key, which
        # re-checks every message while holding off writes to the table.
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AlterField(
                model_name="message",
                name="thread",
                field=models.ForeignKey(blank=True, db_index=False, null=True,
                                        on_delete=django.db.models.deletion.PROTECT, related_name="messages",
                                        to="chats.thread"),
            )],
            database_operations=[migrations.RunSQL(
                f"DROP INDEX IF EXISTS {MESSAGE_THREAD_INDEX}",
                f"CREATE INDEX IF NOT EXISTS {MESSAGE_THREAD_INDEX} ON chats_message (thread_id)",
            )],
        ),
        migrations.RunPython(forward, reverse),
    ]
