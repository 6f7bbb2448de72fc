"""Export every HCP's history for a date range to a CSV or JSON file, streamed (see docs/compliance.md)."""
import datetime
import sys

from django.core.management.base import BaseCommand, CommandError

from chats.compliance.export import FILE_FORMATS, history_export_to_file
from chats.management.commands._arguments import iso_day


class Command(BaseCommand):
    help = "Export messages, consent and audit events of all HCPs between two dates (inclusive, UTC)."

    def add_arguments(self, parser):
        parser.add_argument("--since", required=True, help="First day, YYYY-MM-DD (from 00:00 UTC).")
        parser.add_argument("--until", required=True, help="Last day, YYYY-MM-DD (up to 24:00 UTC), inclusive.")
        parser.add_argument("--format", choices=FILE_FORMATS, default="csv")
        parser.add_argument("--output", required=True, help="File to write ('-' for standard output).")

    def handle(self, *args, since, until, format, output, **options):
        first, last = iso_day(since), iso_day(until)
        if last < first:
            raise CommandError("--until comes before --since.")
        start = datetime.datetime.combine(first, datetime.time.min, tzinfo=datetime.UTC)
        end = datetime.datetime.combine(last + datetime.timedelta(days=1), datetime.time.min, tzinfo=datetime.UTC)
        if output == "-":
            count = history_export_to_file(out=sys.stdout, fmt=format, since=start, until=end)
        else:
            with open(output, "w", encoding="utf-8", newline="") as out:
                count = history_export_to_file(out=out, fmt=format, since=start, until=end)
        self.stderr.write(f"Exported {count} rows from {first} to {last} as {format} to {output}.")
