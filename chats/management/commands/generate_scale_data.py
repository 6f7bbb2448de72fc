from django.core.management.base import BaseCommand, CommandError

from chats.devtools.scale import PASSWORD, ScaleDataRefused, generate_scale_data


class Command(BaseCommand):
    help = ("Build a synthetic data set at scale (accounts, reps, threads, messages) for the benchmarks. "
            "Refuses to run on a database that holds data it did not generate, unless --force.")

    def add_arguments(self, parser):
        parser.add_argument("--accounts", type=int, default=100_000)
        parser.add_argument("--messages", type=int, default=1_000_000)
        parser.add_argument("--reps", type=int, default=200)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--force", action="store_true", help="Write even though the database holds other data.")
        parser.add_argument("--reset", action="store_true", help="Rebuild even when data of these sizes exists.")

    def handle(self, *args, accounts, messages, reps, seed, force, reset, **options):
        try:
            report = generate_scale_data(accounts=accounts, messages=messages, reps=reps, seed=seed, force=force,
                                         reset=reset, log=self.stdout.write)
        except (ScaleDataRefused, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        for line in report.lines():
            self.stdout.write("  " + line)
        if report.reused:
            self.stdout.write(self.style.SUCCESS("Generated data of these sizes already present; nothing written."))
        else:
            self.stdout.write(self.style.SUCCESS(f"Scale data ready. Reps scale.rep0001... password '{PASSWORD}'."))
