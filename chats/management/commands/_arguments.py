"""Argument parsing shared by the management commands (a leading underscore: not a command itself)."""
import datetime

from django.core.management.base import CommandError


def iso_day(text: str) -> datetime.date:
    """A YYYY-MM-DD argument, or a CommandError that says what was wrong."""
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"Not a date in YYYY-MM-DD form: {text!r}.") from None
