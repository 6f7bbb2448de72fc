"""python manage.py simulate_inbound --from +447700900001 --to 100000000000001 --text "hello" """
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from chats.devtools.simulator import simulate_inbound


class Command(BaseCommand):
    help = "Write to a business number as an HCP, through the real signed-webhook path."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="wa_from", required=True, help="HCP's number, E.164 (+447700900001)")
        parser.add_argument("--to", dest="phone_number_id", required=True, help="business phone_number_id")
        parser.add_argument("--text", required=True)
        parser.add_argument("--reply-to", dest="context_wamid", default="", help="wamid the HCP answers")

    def handle(self, *args, wa_from, phone_number_id, text, context_wamid, **options):
        try:
            result = simulate_inbound(wa_from=wa_from, phone_number_id=phone_number_id, text=text,
                                      context_wamid=context_wamid)
        except ValidationError as exc:
            raise CommandError(f"--from: {' '.join(exc.messages)}") from exc
        if result.outcome.status_code != 200:
            raise CommandError(f"webhook refused ({result.outcome.status_code}): {result.outcome.detail}")
        message = result.message
        if message is None:
            self.stdout.write(f"stored webhook {result.outcome.event.pk}; {result.wamid} awaits a worker")
        elif message.thread_id:
            self.stdout.write(self.style.SUCCESS(
                f"{result.wamid} → {message.thread.user.get_username()}'s thread {message.thread_id}"))
        else:
            self.stdout.write(self.style.WARNING(f"{result.wamid} kept as unrouted: {message.unrouted_reason}"))
