from django.core.management.base import BaseCommand, CommandError

from chats.devtools.demo import DEMO_PASSWORD, MAX_GENERATED_ACCOUNTS, NUMBERS, USERS, seed_demo


class Command(BaseCommand):
    help = "Create or repair the demo data (docs/demo.md). Safe to run again: it changes nothing the second time."

    def add_arguments(self, parser):
        parser.add_argument(
            "--accounts", type=int, default=60,
            help=f"How many generated HCP accounts besides the five named ones (0-{MAX_GENERATED_ACCOUNTS}, default 60).",
        )

    def handle(self, *args, accounts, **options):
        try:
            report = seed_demo(generated_accounts=accounts)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        for line in report.lines(changes_only=options["verbosity"] < 2):
            self.stdout.write("  " + line)
        summary = "Demo data loaded." if report.changed else "Demo data already in place; nothing changed."
        self.stdout.write(self.style.SUCCESS(summary))
        self.stdout.write(f"Demo logins (password '{DEMO_PASSWORD}'):")
        displays = dict(NUMBERS)
        sharers = {number_id: sum(1 for u in USERS if u[5] == number_id) for number_id in displays}
        for username, _first, _last, superuser, licensed, number_id in USERS:
            role = "superuser, staff" if superuser else ("Engage license" if licensed else "no Engage license")
            number = f", {displays[number_id]}{' (shared)' if sharers[number_id] > 1 else ''}" if number_id else ""
            self.stdout.write(f"  {username:<10} {role}{number}")
