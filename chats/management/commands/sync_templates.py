"""python manage.py sync_templates [--waba WABA_ID]"""
from django.core.management.base import BaseCommand, CommandError

from chats.models import WhatsAppBusinessAccount
from templates_app.services import sync_all_templates, sync_templates


class Command(BaseCommand):
    help = "Read message templates from Meta (GET /{waba_id}/message_templates, every page) and upsert them."

    def add_arguments(self, parser):
        parser.add_argument("--waba", help="only this WABA id")

    def handle(self, *args, waba=None, **options):
        if waba:
            account = WhatsAppBusinessAccount.objects.filter(waba_id=waba).first()
            if account is None:
                raise CommandError(f"no WABA with id {waba}")
            results = [sync_templates(waba=account)]
        else:
            results = sync_all_templates()
        for result in results:
            self.stdout.write(str(result))
        if not results:
            self.stdout.write("no WABAs to sync")
