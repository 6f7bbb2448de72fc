"""Create an integration for scripts: prints its token and, with a webhook, its signing secret, one per line."""
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from chats.errors import DomainError
from chats.integration.credentials import SCOPES, integration_create, webhook_subscribe
from chats.integration.feed import CHANGE_TYPES


class Command(BaseCommand):
    help = "Create a CRM integration with its scopes (and a webhook); print `token: …` (and `webhook_secret: …`)."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--scope", action="append", default=[], choices=SCOPES, help="Repeat for each scope.")
        parser.add_argument("--webhook", help="A URL to post the changes of --event types to.")
        parser.add_argument("--event", action="append", default=[], choices=CHANGE_TYPES, help="Repeat for each type.")

    def handle(self, *args, name, scope, webhook, event, **options):
        if bool(webhook) != bool(event):
            raise CommandError("--webhook and --event go together.")
        try:
            with transaction.atomic():
                integration, token = integration_create(name=name, scopes=scope)
                secret = None
                if webhook:
                    _, secret = webhook_subscribe(integration=integration, url=webhook, event_types=event, actor=None)
        except DomainError as exc:
            raise CommandError(exc.detail) from None
        self.stdout.write(f"token: {token}")
        if secret:
            self.stdout.write(f"webhook_secret: {secret}")
