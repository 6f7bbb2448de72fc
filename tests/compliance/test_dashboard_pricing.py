"""Messages by Meta pricing category per month and per rep: hand counts, live or rolled up; the page shows them."""
import datetime

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from chats.compliance.dashboard import month_bounds, pricing_by_month, pricing_by_rep
from chats.compliance.rollup import dashboard_rollup_refresh, days_from
from tests.compliance.conftest import IN, OUT, msg
from tests.factories import AccountFactory, PhoneNumberFactory, ThreadFactory, UserFactory

pytestmark = pytest.mark.django_db
UTC = datetime.UTC
NOW = datetime.datetime(2026, 5, 10, 12, tzinfo=UTC)
PAID = {"category": "marketing", "type": "regular", "pricing_model": "PMP", "billable": True}


def t(month, day, hour=12, minute=0, second=0):
    return datetime.datetime(2026, month, day, hour, minute, second, tzinfo=UTC)


@pytest.fixture
def priced(db):
    """March and April 2026 (UTC months), two reps; the hand counts are in the tests below."""
    alex, blair = UserFactory(username="rep.alex"), UserFactory(username="rep.blair")
    number = PhoneNumberFactory(reps=[alex, blair])
    alex_ada = ThreadFactory(user=alex, account=AccountFactory(name="Ada"), phone_number=number)
    blair_grace = ThreadFactory(user=blair, account=AccountFactory(name="Grace"), phone_number=number)
    msg(t(2, 28, 23, 59, 59), alex_ada, OUT, "read", pricing=PAID)                   # February: outside
    # March
    msg(t(3, 5), alex_ada, OUT, "read", pricing=PAID)
    msg(t(3, 31, 23, 59, 59), alex_ada, OUT, "delivered",                               # last second of March
        pricing={"category": "utility", "type": "free_customer_service", "pricing_model": "PMP", "billable": False})
    msg(t(3, 20), blair_grace, OUT, "read", pricing={"category": "service", "pricing_model": "PMP", "billable": False})
    msg(t(3, 21), blair_grace, IN, "received")                                           # inbound: never counted
    # April
    msg(t(4, 1, 0, 0, 0), alex_ada, OUT, "read", pricing={"category": "marketing", "type": "regular"})  # first second
    msg(t(4, 2), alex_ada, OUT, "sent", pricing={"category": "MARKETING", "pricing_model": "PMP", "billable": True})
    msg(t(4, 3), alex_ada, OUT, "read", pricing={"category": "utility", "type": "free_entry_point", "pricing_model": "PMP"})
    msg(t(4, 4), blair_grace, OUT, "read",
        pricing={"category": "authentication", "type": "regular", "pricing_model": "PMP", "billable": True})
    msg(t(4, 30, 23), blair_grace, OUT, "queued")                                        # unpriced
    msg(t(5, 1, 0, 0, 0), alex_ada, OUT, "read", pricing=PAID)                           # May: outside
    return {"alex": alex, "blair": blair, "thread": alex_ada}


def read(rolled: bool):
    with time_machine.travel(NOW, tick=False):
        if rolled:
            dashboard_rollup_refresh(days=days_from(datetime.date(2026, 2, 20), datetime.date(2026, 5, 9)))
        start, end = month_bounds(datetime.date(2026, 3, 1), datetime.date(2026, 4, 1))
        april = month_bounds(datetime.date(2026, 4, 1), datetime.date(2026, 4, 1))
        return pricing_by_month(start=start, end=end), pricing_by_rep(start=april[0], end=april[1])


@pytest.mark.parametrize("rolled", [False, True], ids=["live", "rolled"])
def test_per_month_and_category_with_billable_and_free(priced, rolled):
    by_month, _ = read(rolled)
    assert by_month == {
        "labels": ["2026-03", "2026-04"],
        "categories": ["marketing", "utility", "authentication", "service", "unpriced"],
        "counts": {"marketing": [1, 2], "utility": [1, 1], "authentication": [0, 1], "service": [1, 0],
                   "unpriced": [0, 1]},
        "total": [3, 5], "billable": [1, 3], "free": [2, 1], "unpriced": [0, 1],
    }


@pytest.mark.parametrize("rolled", [False, True], ids=["live", "rolled"])
def test_per_rep_for_a_month(priced, rolled):
    _, april = read(rolled)
    assert april == {"categories": ["marketing", "utility", "authentication", "unpriced"], "rows": [
        {"rep": "rep.alex", "counts": [2, 1, 0, 0], "total": 3, "billable": 2},
        {"rep": "rep.blair", "counts": [0, 0, 1, 1], "total": 2, "billable": 1},
    ]}


def test_a_category_meta_adds_later_is_shown_before_unpriced(priced):
    msg(t(4, 5), priced["thread"], OUT, "read", pricing={"category": "marketing_lite_plus", "billable": True})
    by_month, _ = read(rolled=False)
    assert by_month["categories"][-2:] == ["marketing_lite_plus", "unpriced"]
    assert by_month["counts"]["marketing_lite_plus"] == [0, 1] and by_month["billable"] == [1, 4]


def admin_client():
    client = Client()
    client.force_login(UserFactory(username="boss", is_staff=True, is_superuser=True, licensed=False))
    return client


PARAMS = {"pricing_from": "2026-03", "pricing_to": "2026-04", "rep_month": "2026-04"}


def test_page_shows_the_pricing_tables_to_a_superuser(priced):
    with time_machine.travel(NOW, tick=False):
        response = admin_client().get("/admin/dashboard/", PARAMS)
    assert response.status_code == 200
    assert response.context["charts"]["pricing"]["total"] == [3, 5]
    assert [row["month"] for row in response.context["pricing_rows"]] == ["2026-03", "2026-04"]
    assert response.context["pricing_rows"][1] == {"month": "2026-04", "counts": [2, 1, 1, 0, 1], "total": 5,
                                                   "billable": 3, "free": 1}
    page = response.content.decode()
    assert "<caption>Outbound messages per month by pricing category, 2026-03 to 2026-04</caption>" in page
    assert "<caption>Per rep, 2026-04: outbound messages they sent by pricing category</caption>" in page
    assert '<th scope="row">rep.blair</th>' in page and 'id="chart-pricing"' in page


def test_default_is_the_last_12_months_and_bad_months_are_not_a_500(priced):
    client = admin_client()
    with time_machine.travel(NOW, tick=False):
        response = client.get("/admin/dashboard/")
        assert response.context["charts"]["pricing"]["labels"][0] == "2025-06"
        assert response.context["charts"]["pricing"]["labels"][-1] == "2026-05"
        assert response.context["rep_month"] == datetime.date(2026, 5, 1)
        bad = client.get("/admin/dashboard/", {"pricing_from": "2026-04", "pricing_to": "2026-03"})
        assert bad.status_code == 200 and "must not come after" in bad.content.decode()
        assert len(bad.context["charts"]["pricing"]["labels"]) == 12
        assert client.get("/admin/dashboard/", {"pricing_from": "March", "rep_month": "2020-01"}).status_code == 200


def test_page_refused_for_a_non_staff_user(priced):
    client = Client()
    client.force_login(UserFactory(username="rep.zoe"))
    response = client.get("/admin/dashboard/", PARAMS)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.parametrize("rolled", [False, True], ids=["live", "rolled"])
def test_page_query_count_does_not_grow_with_messages(priced, rolled):
    client = admin_client()
    with time_machine.travel(NOW, tick=False):
        if rolled:
            dashboard_rollup_refresh(days=days_from(datetime.date(2026, 3, 1), datetime.date(2026, 5, 9)))
        client.get("/admin/dashboard/", PARAMS)  # warm the session and content types
        with CaptureQueriesContext(connection) as small:
            client.get("/admin/dashboard/", PARAMS)
    for day in range(1, 29):
        for rep in ("alex", "blair"):
            thread = priced["thread"] if rep == "alex" else None
            msg(t(3 + day % 2, day), thread or ThreadFactory(user=priced[rep]), OUT, "read",
                pricing={"category": ("marketing", "utility", "service")[day % 3], "billable": day % 2 == 0})
    with time_machine.travel(NOW, tick=False):
        if rolled:
            dashboard_rollup_refresh(days=days_from(datetime.date(2026, 3, 1), datetime.date(2026, 5, 9)))
        with CaptureQueriesContext(connection) as large:
            response = client.get("/admin/dashboard/", PARAMS)
    assert response.context["charts"]["pricing"]["total"] != [3, 5]
    assert len(large) == len(small) <= 14
