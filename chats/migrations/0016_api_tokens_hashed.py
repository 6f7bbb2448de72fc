"""API tokens move to django-rest-knox, which stores only a SHA-512 digest of each.

Every token DRF's authtoken held in plain text becomes a knox token with the same key (so
clients keep working), expiring one token lifetime (REST_KNOX TOKEN_TTL) from now; the plain
keys are then deleted (docs/security.md, "API tokens").
"""
from django.conf import settings
from django.db import migrations
from django.utils import timezone


def hash_existing_tokens(apps, schema_editor):
    from knox.crypto import hash_token
    from knox.settings import CONSTANTS

    Token = apps.get_model("authtoken", "Token")
    AuthToken = apps.get_model("knox", "AuthToken")
    expiry = timezone.now() + settings.REST_KNOX["TOKEN_TTL"]
    for token in Token.objects.all().iterator():
        AuthToken.objects.get_or_create(digest=hash_token(token.key), defaults={
            "token_key": token.key[:CONSTANTS.TOKEN_KEY_LENGTH], "user_id": token.user_id, "expiry": expiry})
    Token.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("chats", "0015_message_thread_written_order"),
        ("authtoken", "0004_alter_tokenproxy_options"),
        ("knox", "0009_extend_authtoken_field"),
    ]

    operations = [migrations.RunPython(hash_existing_tokens, migrations.RunPython.noop)]
