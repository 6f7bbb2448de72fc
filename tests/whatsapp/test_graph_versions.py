"""The Graph API version: the newest by default, and a system check that warns before Meta
stops serving the configured one (chats/whatsapp/versions.py)."""
from datetime import datetime, timezone

import pytest
import time_machine
from django.conf import settings as django_settings

from chats.checks import graph_api_version_current
from chats.whatsapp.versions import GRAPH_API_VERSIONS, NEWEST


def ids(messages):
    return [m.id for m in messages]


def test_the_default_is_the_newest_version_meta_lists():
    assert NEWEST == "v26.0" and django_settings.WHATSAPP_API_VERSION == NEWEST


@pytest.mark.parametrize("version,today,expected", [
    ("v21.0", "2026-12-05", ["rapport.W001"]),   # ends 21 January 2027: 47 days
    ("v21.0", "2026-11-01", []),                 # 81 days: not yet
    ("v21.0", "2027-01-22", ["rapport.E003"]),   # past its end
    ("v26.0", "2026-12-05", []),                 # no end announced
    ("v99.0", "2026-12-05", ["rapport.W002"]),   # unknown to the table
])
def test_the_check_warns_sixty_days_before_the_end(settings, version, today, expected):
    settings.WHATSAPP_BACKEND = "cloud"
    settings.WHATSAPP_API_VERSION = version
    with time_machine.travel(datetime.fromisoformat(today).replace(hour=12, tzinfo=timezone.utc), tick=False):
        found = graph_api_version_current()
    assert ids(found) == expected
    if found:
        assert NEWEST in found[0].hint


def test_the_sandbox_is_not_checked(settings):
    settings.WHATSAPP_API_VERSION = "v19.0"  # long gone, but the sandbox never calls Meta
    assert graph_api_version_current() == []


def test_the_table_is_ordered_by_release_and_ends_after_it():
    for version, (released, until) in GRAPH_API_VERSIONS.items():
        assert until is None or until > released, version
