"""The admin dashboard counts possible adverse events per week and how fast they reached drug safety."""
from datetime import timedelta

import pytest

from chats.compliance.dashboard import safety_cases_per_week
from chats.models import SafetyCase
from tests.safety.conftest import T0, hcp_writes

pytestmark = pytest.mark.django_db


def case_received(client, number, account, *, at, forwarded_after=None):
    message = hcp_writes(client, number=number, account=account, text="My patient had a rash after Cholecap")
    case = SafetyCase.objects.get(message=message)
    SafetyCase.objects.filter(pk=case.pk).update(
        received_at=at, due_at=at + timedelta(hours=24),
        forwarded_at=at + forwarded_after if forwarded_after is not None else None)
    return case


def test_cases_per_week_with_forwarding_times(client, lexicon, solo_number, ada):
    # given: T0 is a Monday; two cases that week (one forwarded in 2 h, one in 30 h: late), one the next, unforwarded
    case_received(client, solo_number, ada, at=T0, forwarded_after=timedelta(hours=2))
    case_received(client, solo_number, ada, at=T0 + timedelta(days=2), forwarded_after=timedelta(hours=30))
    case_received(client, solo_number, ada, at=T0 + timedelta(days=7, hours=3))
    case_received(client, solo_number, ada, at=T0 + timedelta(days=40))  # outside the range
    # when
    rows = safety_cases_per_week(start=T0, end=T0 + timedelta(days=14))
    # then
    assert rows == [
        {"week": T0.date(), "cases": 2, "forwarded": 2, "forwarded_late": 1, "median_hours_to_forward": 16.0},
        {"week": (T0 + timedelta(days=7)).date(), "cases": 1, "forwarded": 0, "forwarded_late": 0,
         "median_hours_to_forward": None},
    ]


def test_the_dashboard_page_shows_the_weeks(client, admin_client, lexicon, solo_number, ada):
    case_received(client, solo_number, ada, at=T0, forwarded_after=timedelta(hours=2))
    page = admin_client.get("/admin/dashboard/", {"start": "2026-03-01", "end": "2026-03-14"}).content.decode()
    assert 'id="safety-per-week"' in page and "2026-03-02" in page and "2.0" in page
