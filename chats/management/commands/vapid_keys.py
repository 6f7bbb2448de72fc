"""Print a fresh VAPID key pair for Web Push notifications (docs/operations.md, "Notifications")."""
from django.core.management.base import BaseCommand

from chats.notifications.push import vapid_key_pair


class Command(BaseCommand):
    help = ("Print a new VAPID key pair as environment lines (VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY). Set them, "
            "with VAPID_SUBJECT, in every web and worker process. Changing the pair later makes every device "
            "turn notifications on again.")

    def handle(self, *args, **options):
        public, private = vapid_key_pair()
        self.stdout.write(f"VAPID_PUBLIC_KEY={public}\nVAPID_PRIVATE_KEY={private}\n")
