from django.db import migrations

from chats.compliance.append_only import install_trigger_operation


class Migration(migrations.Migration):
    dependencies = [("chats", "0002_initial")]
    operations = [install_trigger_operation("chats_auditevent")]
