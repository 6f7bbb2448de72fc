import django.db.models.functions.comparison
from django.db import migrations, models


class Migration(migrations.Migration):
    """Threads are read in the order their messages were written (WhatsApp's time for the HCP's,
    Rapport's for the rep's): the thread index follows. The new index is built before the old one
    goes, so lookups by thread are never without one (docs/operations.md)."""

    dependencies = [
        ('chats', '0014_conversation_last_inbound_received_at'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='message',
            index=models.Index(models.F('thread'), django.db.models.functions.comparison.Coalesce('wa_timestamp', 'created_at'), models.F('id'), name='chats_message_thread_written'),
        ),
        migrations.RemoveIndex(
            model_name='message',
            name='chats_messa_thread__83dbb0_idx',
        ),
    ]
