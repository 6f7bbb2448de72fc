from django.db import migrations

from chats.compliance.append_only import install_trigger_operation


class Migration(migrations.Migration):
    dependencies = [("consent", "0001_initial")]
    operations = [install_trigger_operation("consent_consentevent")]
