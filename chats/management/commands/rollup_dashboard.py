"""Compute the admin dashboard's daily rollup for a span of past days (see docs/compliance.md, the rollup)."""
import datetime
import time

from django.core.management.base import BaseCommand, CommandError

from chats.compliance.rollup import dashboard_rollup_refresh, days_from, utc_today
from chats.management.commands._arguments import iso_day


class Command(BaseCommand):
    help = ("Roll up the admin dashboard's numbers for each day from --since to --until (UTC, inclusive; "
            "default yesterday). Days already rolled up are recomputed. Today is never rolled up.")

    def add_arguments(self, parser):
        parser.add_argument("--since", required=True, help="First day, YYYY-MM-DD.")
        parser.add_argument("--until", help="Last day, YYYY-MM-DD, inclusive (default: yesterday, UTC).")

    def handle(self, *args, since, until, **options):
        today = utc_today()
        first = iso_day(since)
        last = iso_day(until) if until else today - datetime.timedelta(days=1)
        if last >= today:
            raise CommandError(f"--until must be before today ({today.isoformat()}, UTC): "
                               "today is still changing and the dashboard always counts it live.")
        if first > last:
            raise CommandError(f"--since {first.isoformat()} comes after the last day {last.isoformat()}.")
        began = time.perf_counter()
        result = dashboard_rollup_refresh(days=days_from(first, last))
        self.stdout.write(f"Rolled up {result['days']} days from {first} to {last} ({result['rows']} rows) "
                          f"in {time.perf_counter() - began:.1f} s.")
        if result["skipped"]:
            self.stdout.write(f"Skipped (being rolled up by another run at the same moment): "
                              f"{', '.join(result['skipped'])}.")
