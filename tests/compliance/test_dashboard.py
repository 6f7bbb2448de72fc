"""The dashboard's aggregates match a hand-counted fixture; the page is staff-only with a constant query count."""
import datetime

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from chats.compliance.dashboard import dashboard_data
from chats.models import Message
from tests.compliance.conftest import IN, OUT, at, msg
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
UTC = datetime.UTC


def test_aggregates_match_hand_counts(world):
    data = dashboard_data(start=world["start"], end=world["end"])
    days = ["2026-04-01", "2026-04-02", "2026-04-03"]
    assert data["messages"] == {"labels": days, "sent": [2, 1, 1], "received": [2, 2, 2]}
    rates = data["rates"]
    assert (rates["handed"], rates["delivered"], rates["read"]) == ([2, 2, 1], [2, 0, 1], [1, 0, 1])
    assert (rates["delivery_rate"], rates["read_rate"]) == ([100.0, 0.0, 100.0], [50.0, 0.0, 100.0])
    assert data["failures"] == {"labels": ["meta_error", "opted_out", "window_closed"], "counts": [1, 1, 1]}
    assert data["response"] == {"labels": days, "median_minutes": [25.0, 60.0, 10.0], "replies": [2, 1, 1]}
    assert data["consent"] == {"labels": days, "opt_ins": [1, 0, 1], "opt_outs": [0, 1, 0]}
    assert data["templates"] == {"labels": ["intro_meeting_request [en]", "follow_up_visit [en]"], "counts": [2, 1]}
    assert data["reps"] == {"labels": ["rep.alex", "rep.blair", "rep.casey"],
                            "outbound": [3, 2, 2], "inbound": [3, 1, 1]}
    assert data["numbers"] == {"labels": ["+1 555 010 0001", "+1 555 010 0002"],
                               "outbound": [5, 2], "inbound": [5, 1]}


def test_empty_days_are_zero_and_medians_none(world):
    data = dashboard_data(start=datetime.datetime(2026, 4, 10, tzinfo=UTC),
                          end=datetime.datetime(2026, 4, 12, tzinfo=UTC))
    assert data["messages"]["sent"] == [0, 0]
    assert data["response"]["median_minutes"] == [None, None]
    assert data["rates"]["delivery_rate"] == [None, None]


def staff_client():
    client = Client()
    client.force_login(UserFactory(username="boss", is_staff=True, is_superuser=True, licensed=False))
    return client


def test_page_renders_for_staff_with_the_data_and_local_chartjs(world):
    client = staff_client()
    response = client.get("/admin/dashboard/", {"start": "2026-04-01", "end": "2026-04-03"})
    assert response.status_code == 200
    page = response.content.decode()
    assert '<script id="dashboard-data" type="application/json">' in page
    assert "vendor/chartjs/chart.umd.js" in page and "cdn" not in page.lower()
    assert response.context["charts"]["messages"]["sent"] == [2, 1, 1]
    # the admin index links to it
    assert "/admin/dashboard/" in client.get("/admin/").content.decode()


def test_default_range_is_the_last_30_days_and_bad_input_is_not_a_500(world):
    client = staff_client()
    with time_machine.travel(at(3, 12), tick=False):
        response = client.get("/admin/dashboard/")
        assert response.context["charts"]["messages"]["labels"][0] == "2026-03-05"
        assert response.context["charts"]["messages"]["labels"][-1] == "2026-04-03"
        assert len(response.context["charts"]["messages"]["labels"]) == 30
        bad = client.get("/admin/dashboard/", {"start": "2026-04-09", "end": "2026-04-01"})
        assert bad.status_code == 200 and "must not come after" in bad.content.decode()
        assert client.get("/admin/dashboard/", {"start": "not-a-date"}).status_code == 200


def test_page_refused_for_non_staff(world):
    client = Client()
    client.force_login(UserFactory(username="rep.zoe"))
    response = client.get("/admin/dashboard/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert Client().get("/admin/dashboard/").status_code == 302


def test_query_count_does_not_grow_with_rows(world):
    client = staff_client()
    client.get("/admin/dashboard/")  # warm the session and content types
    params = {"start": "2026-04-01", "end": "2026-04-03"}
    with CaptureQueriesContext(connection) as small:
        client.get("/admin/dashboard/", params)
    thread = Message.objects.filter(thread__isnull=False).first().thread
    for hour in range(12):
        msg(at(2, hour), thread, OUT, "read")
        msg(at(2, hour, 5), thread, IN, "received")
    with CaptureQueriesContext(connection) as large:
        client.get("/admin/dashboard/", params)
    print(f"dashboard page: {len(small)} queries with 15 messages, {len(large)} with 39")
    assert len(large) == len(small) <= 14
