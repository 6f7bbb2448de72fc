"""The dashboard's daily rollup: rolled-up, live and mixed ranges give the live queries' numbers, exactly."""
import datetime
import io
import random
import statistics
from collections import defaultdict

import pytest
import time_machine
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.test.utils import CaptureQueriesContext

from chats.compliance import dashboard
from chats.compliance.dashboard import dashboard_data
from chats.compliance.rollup import (
    Coverage, coverage, dashboard_rollup_refresh, days_from, rollup_days_due,
)
from chats.compliance.tasks import refresh_dashboard_rollup_task
from chats.models import DailyMessageRollup, Message, RolledUpDay
from tests.compliance.conftest import IN, OUT, at, msg
from tests.factories import AccountFactory, PhoneNumberFactory, TemplateFactory, ThreadFactory, UserFactory

pytestmark = pytest.mark.django_db
UTC = datetime.UTC
D = datetime.date
APRIL_1, APRIL_4 = at(1, 0), datetime.datetime(2026, 4, 4, tzinfo=UTC)
LATER = datetime.datetime(2026, 4, 10, 12, tzinfo=UTC)  # "now" once the fixture's days are over
CHARTS = ("messages", "rates", "failures", "response", "consent", "templates", "reps", "numbers")


def live(start, end) -> dict:
    return dashboard_data(start=start, end=end, cover=Coverage.all_live(start=start, end=end))


def roll_up(first: D, last: D) -> dict:
    with time_machine.travel(LATER, tick=False):
        return dashboard_rollup_refresh(days=days_from(first, last))


def rollup_rows() -> list[dict]:
    return list(DailyMessageRollup.objects.order_by("day", "dimension", "status", "failure_code", "with_sent_at",
                                                    "user_id", "phone_number_id", "template_id")
                .values("day", "dimension", "status", "with_sent_at", "failure_code", "user_id", "phone_number_id",
                        "template_id", "outbound", "inbound"))


def test_a_rolled_up_range_gives_the_hand_counts_without_reading_messages(world):
    # given: every day of the fixture rolled up (and the days either side)
    roll_up(D(2026, 3, 31), D(2026, 4, 4))
    # when: the dashboard reads 1 to 3 April
    with time_machine.travel(LATER, tick=False), CaptureQueriesContext(connection) as queries:
        data = dashboard_data(start=APRIL_1, end=APRIL_4)
    # then: the hand counts of test_dashboard.py, every chart as the live queries give it
    days = ["2026-04-01", "2026-04-02", "2026-04-03"]
    assert data["messages"] == {"labels": days, "sent": [2, 1, 1], "received": [2, 2, 2]}
    rates = data["rates"]
    assert (rates["handed"], rates["delivered"], rates["read"]) == ([2, 2, 1], [2, 0, 1], [1, 0, 1])
    assert data["failures"] == {"labels": ["meta_error", "opted_out", "window_closed"], "counts": [1, 1, 1]}
    assert data["response"] == {"labels": days, "median_minutes": [25.0, 60.0, 10.0], "replies": [2, 1, 1]}
    assert data["templates"] == {"labels": ["intro_meeting_request [en]", "follow_up_visit [en]"], "counts": [2, 1]}
    assert data["reps"] == {"labels": ["rep.alex", "rep.blair", "rep.casey"], "outbound": [3, 2, 2],
                            "inbound": [3, 1, 1]}
    assert data["numbers"] == {"labels": ["+1 555 010 0001", "+1 555 010 0002"], "outbound": [5, 2],
                               "inbound": [5, 1]}
    assert data == live(APRIL_1, APRIL_4)
    # and: the message table was not read at all: the coverage (with the medians), six charts, consent
    assert len(queries) == 8
    assert not [q["sql"] for q in queries if "chats_message\"" in q["sql"] or "chats_message " in q["sql"]]


def test_a_refresh_run_twice_writes_the_same_rows(world):
    # given: the fixture rolled up once
    first = roll_up(D(2026, 3, 31), D(2026, 4, 4))
    rows, days = rollup_rows(), list(RolledUpDay.objects.values_list("day", "replies", "reply_median_seconds"))
    # when: the same days are rolled up again
    second = roll_up(D(2026, 3, 31), D(2026, 4, 4))
    # then: the same rows, one marker per day, nothing doubled
    assert first == second == {"days": 5, "rows": len(rows), "skipped": []}
    assert rollup_rows() == rows
    assert list(RolledUpDay.objects.values_list("day", "replies", "reply_median_seconds")) == days
    assert [d.isoformat() for d, *_ in days] == ["2026-03-31", "2026-04-01", "2026-04-02", "2026-04-03", "2026-04-04"]


def test_a_late_status_on_an_old_message_shows_after_the_next_refresh_of_its_day(world):
    # given: the fixture rolled up
    roll_up(D(2026, 4, 1), D(2026, 4, 3))
    sent = Message.objects.get(created_at=at(2, 9))  # Casey's template, status "sent"
    # when: Meta's read receipt arrives a week later
    Message.objects.filter(pk=sent.pk).update(status="read", delivered_at=LATER, read_at=LATER)
    # then: the rolled-up day still says what it said (the rollup is as fresh as its last refresh) ...
    with time_machine.travel(LATER, tick=False):
        assert dashboard_data(start=APRIL_1, end=APRIL_4)["rates"]["read"] == [1, 0, 1]
    # ... and after the day's next refresh it says what the messages say
    roll_up(D(2026, 4, 2), D(2026, 4, 2))
    with time_machine.travel(LATER, tick=False):
        data = dashboard_data(start=APRIL_1, end=APRIL_4)
    assert data["rates"]["read"] == [1, 1, 1] and data["rates"]["delivered"] == [2, 1, 1]
    assert data == live(APRIL_1, APRIL_4)


def test_a_run_that_collides_with_another_on_the_same_day_leaves_that_day_as_it_was(world, monkeypatch):
    # given: 2 April rolled up
    roll_up(D(2026, 4, 2), D(2026, 4, 2))
    rows, marker = rollup_rows(), list(RolledUpDay.objects.values_list("day", "rolled_at", "replies"))
    # when: while a second run recomputes it, another run writes the day's marker first
    from chats.compliance import rollup
    medians = rollup.reply_medians

    def other_run_first(*, intervals):
        if intervals[0][0].date() == D(2026, 4, 2):
            RolledUpDay.objects.create(day=D(2026, 4, 2), rolled_at=LATER)
        return medians(intervals=intervals)
    monkeypatch.setattr(rollup, "reply_medians", other_run_first)
    result = roll_up(D(2026, 4, 1), D(2026, 4, 2))
    # then: that day is skipped and rolled back whole (the unique day refused the second marker); 1 April is done
    assert result["skipped"] == ["2026-04-02"] and result["days"] == 1
    assert [r for r in rollup_rows() if r["day"] == D(2026, 4, 2)] == rows
    assert list(RolledUpDay.objects.filter(day=D(2026, 4, 2)).values_list("day", "rolled_at", "replies")) == marker


def test_today_is_always_counted_live(world):
    with time_machine.travel(at(3, 12), tick=False):
        # given: 1 and 2 April rolled up; it is noon on 3 April
        dashboard_rollup_refresh(days=[D(2026, 4, 1), D(2026, 4, 2)])
        # when / then: today cannot be rolled up ...
        with pytest.raises(ValueError, match="not over yet"):
            dashboard_rollup_refresh(days=[D(2026, 4, 3)])
        # ... and even a marker for today (written by hand) is ignored: today is counted from the messages
        RolledUpDay.objects.create(day=D(2026, 4, 3), rolled_at=at(3, 0))
        cover = coverage(start=APRIL_1, end=APRIL_4)
        assert sorted(cover.rolled) == [D(2026, 4, 1), D(2026, 4, 2)] and cover.live == [(at(3, 0), APRIL_4)]
        data = dashboard_data(start=APRIL_1, end=APRIL_4)
    assert data["messages"]["sent"] == [2, 1, 1] and data["response"]["median_minutes"] == [25.0, 60.0, 10.0]


# --- a larger, random world, compared with the live queries as they were before the rollup -------------------

def before_rollup(start, end) -> dict:
    """The dashboard's message charts as the live queries computed them (main before the rollup); the median in
    Python from every message, by its definition in docs/compliance.md."""
    in_range = Q(created_at__gte=start, created_at__lt=end)
    days = dashboard.days_between(start, end)
    handed = (Message.Status.SENT, Message.Status.DELIVERED, Message.Status.READ)
    per_day = lambda rows, *keys: dashboard._per_day(rows, days, *keys)  # noqa: E731
    rows = (Message.objects.filter(in_range).annotate(day=TruncDate("created_at")).values("day")
            .annotate(sent=Count("id", filter=Q(direction=OUT, status__in=handed)),
                      received=Count("id", filter=Q(direction=IN))).order_by("day"))
    rates = per_day(Message.objects.filter(in_range, direction=OUT).annotate(day=TruncDate("created_at"))
                    .values("day").annotate(
                        handed=Count("id", filter=Q(status__in=handed) | Q(status="failed", sent_at__isnull=False)),
                        delivered=Count("id", filter=Q(status__in=["delivered", "read"])),
                        read=Count("id", filter=Q(status="read"))).order_by("day"), "handed", "delivered", "read")
    failures = (Message.objects.filter(in_range, direction=OUT, status="failed").values("failure_code")
                .annotate(n=Count("id")).order_by("-n", "failure_code"))
    templates = (Message.objects.filter(in_range, direction=OUT, template__isnull=False)
                 .values("template__name", "template__language").annotate(n=Count("id"))
                 .order_by("-n", "template__name")[:20])
    counts = dict(outbound=Count("id", filter=Q(direction=OUT)), inbound=Count("id", filter=Q(direction=IN)),
                  total=Count("id"))
    reps = (Message.objects.filter(in_range, thread__isnull=False).values("thread__user__username")
            .annotate(**counts).order_by("-total", "thread__user__username")[:20])
    numbers = (Message.objects.filter(in_range, phone_number__isnull=False).values("phone_number__display_phone_number")
               .annotate(**counts).order_by("-total", "phone_number__display_phone_number")[:20])
    gaps, previous = defaultdict(list), {}
    for m in Message.objects.filter(account__isnull=False, phone_number__isnull=False).order_by("created_at", "id"):
        before = previous.get((m.phone_number_id, m.account_id))
        if (m.direction == IN and before and before.direction == OUT and start <= m.created_at < end
                and m.created_at - before.created_at <= datetime.timedelta(days=7)):
            gaps[m.created_at.date()].append((m.created_at - before.created_at).total_seconds())
        previous[(m.phone_number_id, m.account_id)] = m
    return {
        "messages": per_day(rows, "sent", "received"),
        "rates": {**rates,
                  "delivery_rate": [round(100.0 * d / h, 1) if h else None
                                    for d, h in zip(rates["delivered"], rates["handed"])],
                  "read_rate": [round(100.0 * r / h, 1) if h else None
                                for r, h in zip(rates["read"], rates["handed"])]},
        "failures": {"labels": [r["failure_code"] or "unknown" for r in failures],
                     "counts": [r["n"] for r in failures]},
        "response": {"labels": [d.isoformat() for d in days],
                     "median_minutes": [round(statistics.median(gaps[d]) / 60, 1) if gaps[d] else None for d in days],
                     "replies": [len(gaps[d]) for d in days]},
        "templates": {"labels": [f"{r['template__name']} [{r['template__language']}]" for r in templates],
                      "counts": [r["n"] for r in templates]},
        "reps": {"labels": [r["thread__user__username"] for r in reps], "outbound": [r["outbound"] for r in reps],
                 "inbound": [r["inbound"] for r in reps]},
        "numbers": {"labels": [r["phone_number__display_phone_number"] for r in numbers],
                    "outbound": [r["outbound"] for r in numbers], "inbound": [r["inbound"] for r in numbers]},
    }


NOW = datetime.datetime(2026, 4, 7, 15, 0, tzinfo=UTC)  # the random world's "now": 7 April is today


def _insert(**fields) -> Message:
    message = Message(**fields)
    message.save_base(raw=True)  # keeps created_at, as seed_activity does
    return message


@pytest.fixture
def random_world(db):
    """~440 messages from 20 March to 7 April 15:00: every status, failure codes with and without sent_at,
    templates, unrouted inbound, replies minutes to days after our message (some across midnight, some past
    the 7-day horizon), reps sharing a number."""
    rng = random.Random(6)
    reps = [UserFactory(username=f"rep.{name}") for name in ("ann", "bob", "cy", "dee")]
    shared = PhoneNumberFactory(display_phone_number="+1 555 020 0001", reps=reps[:2])
    numbers = [shared, PhoneNumberFactory(display_phone_number="+1 555 020 0002", reps=[reps[2]], waba=shared.waba),
               PhoneNumberFactory(display_phone_number="+1 555 020 0003", reps=[reps[3]], waba=shared.waba)]
    hcps = [AccountFactory(name=f"HCP {i}", consent="none") for i in range(5)]
    templates = [TemplateFactory(name=f"tpl_{c}", waba=shared.waba, language=lang)
                 for c, lang in (("a", "en"), ("b", "fr"), ("c", "en"))]
    rep_number = {0: shared, 1: shared, 2: numbers[1], 3: numbers[2]}
    threads = [ThreadFactory(user=reps[r], account=hcps[h], phone_number=rep_number[r])
               for r, h in ((0, 0), (0, 1), (1, 0), (1, 2), (2, 3), (2, 0), (3, 4), (3, 1))]
    start = datetime.datetime(2026, 3, 20, 8, tzinfo=UTC)
    for thread in threads:
        when = start + datetime.timedelta(minutes=rng.randint(0, 600))
        while when < NOW:
            if rng.random() < 0.45:
                _insert(thread=thread, account=thread.account, phone_number=thread.phone_number, direction=IN,
                        status="received", created_at=when)
            else:
                status = rng.choice(["queued", "sent", "delivered", "read", "read", "failed"])
                handed = status != "queued" and (status != "failed" or rng.random() < 0.5)
                _insert(thread=thread, account=thread.account, phone_number=thread.phone_number, direction=OUT,
                        sender=thread.user, status=status, sent_at=when if handed else None,
                        failure_code=rng.choice(["window_closed", "opted_out", "meta_error", ""])
                        if status == "failed" else "",
                        template=rng.choice(templates) if rng.random() < 0.3 else None, created_at=when)
            gap = rng.choice([rng.randint(1, 90), rng.randint(60, 1500), rng.randint(1400, 3000),
                              rng.randint(7 * 1440 - 30, 7 * 1440 + 30)] if rng.random() < 0.1 else
                             [rng.randint(1, 90), rng.randint(60, 900)])
            when += datetime.timedelta(minutes=gap)
    for i in range(25):  # unrouted inbound: on the shared number, from a known HCP or from nobody we know
        _insert(thread=None, account=rng.choice([None, hcps[0], hcps[4]]), phone_number=shared, direction=IN,
                status="received", created_at=start + datetime.timedelta(minutes=rng.randint(0, 26000)))
    return {"start": datetime.datetime(2026, 4, 1, tzinfo=UTC), "end": datetime.datetime(2026, 4, 8, tzinfo=UTC)}


def test_the_random_world_is_varied(random_world):
    messages = Message.objects.filter(created_at__gte=random_world["start"])
    assert messages.count() > 200
    assert set(messages.values_list("status", flat=True)) == {"queued", "sent", "delivered", "read", "failed",
                                                              "received"}
    assert messages.filter(thread__isnull=True).exists() and messages.filter(created_at__date=NOW.date()).exists()
    assert sum(before_rollup(random_world["start"], random_world["end"])["response"]["replies"]) > 30


@pytest.mark.parametrize("rolled", [
    [],                                       # nothing rolled up: all live
    list(range(1, 7)),                        # every day before today
    [1, 3, 5],                                # every other day
    [2, 3, 4],                                # a block in the middle
    [6],                                      # only yesterday
])
def test_rolled_live_and_mixed_ranges_equal_the_live_queries(random_world, rolled):
    start, end = random_world["start"], random_world["end"]
    with time_machine.travel(NOW, tick=False):
        # given: some days rolled up (before_rollup is computed first: it reads only messages)
        expected = before_rollup(start, end)
        dashboard_rollup_refresh(days=[D(2026, 4, day) for day in rolled])
        # when: the dashboard reads the range, today included
        data = dashboard_data(start=start, end=end)
        # then: every message chart equals the live queries, and so equals the all-live reading
        assert {k: v for k, v in data.items() if k != "consent"} == expected
        assert data == live(start, end)
        assert sorted(coverage(start=start, end=end).rolled) == [D(2026, 4, day) for day in rolled]


def test_a_range_not_on_day_boundaries_reads_whole_days_from_the_rollup(random_world):
    start, end = datetime.datetime(2026, 4, 2, 13, tzinfo=UTC), datetime.datetime(2026, 4, 6, 7, tzinfo=UTC)
    with time_machine.travel(NOW, tick=False):
        expected = before_rollup(start, end)
        dashboard_rollup_refresh(days=days_from(D(2026, 3, 20), D(2026, 4, 6)))
        cover = coverage(start=start, end=end)
        assert sorted(cover.rolled) == [D(2026, 4, 3), D(2026, 4, 4), D(2026, 4, 5)]
        assert cover.live == [(start, datetime.datetime(2026, 4, 3, tzinfo=UTC)),
                              (datetime.datetime(2026, 4, 6, tzinfo=UTC), end)]
        data = dashboard_data(start=start, end=end)
    assert {k: v for k, v in data.items() if k != "consent"} == expected


# --- query counts ---------------------------------------------------------------------------------------------

def chart_queries(start, end, cover) -> dict:
    counts = {}
    for name, function in (("messages", dashboard.messages_per_day), ("rates", dashboard.delivery_rates_per_day),
                           ("failures", dashboard.failures_by_reason),
                           ("response", dashboard.median_response_minutes_per_day),
                           ("consent", dashboard.consent_changes_per_day), ("templates", dashboard.templates_by_use),
                           ("reps", dashboard.per_rep), ("numbers", dashboard.per_number)):
        with CaptureQueriesContext(connection) as queries:
            function(start=start, end=end, cover=cover)
        counts[name] = len(queries)
    with CaptureQueriesContext(connection) as queries:
        coverage(start=start, end=end)
    counts["coverage"] = len(queries)
    return counts


def test_one_query_per_chart_whatever_the_size_and_the_rollup(world):
    one_each = {name: 1 for name in (*CHARTS, "coverage")}
    rolled_all = {**one_each, "response": 0}  # the stored medians come with the coverage
    with time_machine.travel(at(3, 12), tick=False):  # 3 April is today: 1 and 2 April can be rolled up
        ranges = {"live": (at(3, 0), APRIL_4), "mixed": (APRIL_1, APRIL_4), "rolled": (APRIL_1, at(3, 0))}
        dashboard_rollup_refresh(days=[D(2026, 4, 1), D(2026, 4, 2)])
        small = {state: chart_queries(s, e, coverage(start=s, end=e)) for state, (s, e) in ranges.items()}
        # when: the data grows (24 more messages on each day)
        thread = Message.objects.filter(thread__isnull=False).first().thread
        for day in (1, 2, 3):
            for hour in range(12):
                msg(at(day, hour), thread, OUT, "read")
                msg(at(day, hour, 5), thread, IN, "received")
        dashboard_rollup_refresh(days=[D(2026, 4, 1), D(2026, 4, 2)])
        large = {state: chart_queries(s, e, coverage(start=s, end=e)) for state, (s, e) in ranges.items()}
    # then: the same counts, one query per chart
    assert small == large == {"live": one_each, "mixed": one_each, "rolled": rolled_all}


# --- the beat task, the command, the scale generator ----------------------------------------------------------

def test_the_beat_task_refreshes_recent_days_and_rolls_up_older_days_never_rolled_up(world, settings):
    settings.DASHBOARD_ROLLUP_REFRESH_DAYS = 2
    # when: the task runs on 6 April (messages from 31 March to 4 April)
    with time_machine.travel(datetime.datetime(2026, 4, 6, 0, 5, tzinfo=UTC), tick=False):
        result = refresh_dashboard_rollup_task.delay().get()
    # then: 5 and 4 April (the recent days), then the older days from the first message, newest first
    assert result["days"] == 6
    assert sorted(RolledUpDay.objects.values_list("day", flat=True)) == days_from(D(2026, 3, 31), D(2026, 4, 5))
    first_rolled = dict(RolledUpDay.objects.values_list("day", "rolled_at"))
    # when: it runs again 15 minutes later
    with time_machine.travel(datetime.datetime(2026, 4, 6, 0, 20, tzinfo=UTC), tick=False):
        assert rollup_days_due() == [D(2026, 4, 5), D(2026, 4, 4)]
        refresh_dashboard_rollup_task.delay().get()
    # then: only the recent days were computed again
    again = dict(RolledUpDay.objects.values_list("day", "rolled_at"))
    assert sorted(d for d in again if again[d] != first_rolled[d]) == [D(2026, 4, 4), D(2026, 4, 5)]
    # and: the dashboard reads it all from the rollup with the live numbers
    with time_machine.travel(datetime.datetime(2026, 4, 6, 0, 20, tzinfo=UTC), tick=False):
        assert not coverage(start=APRIL_1, end=APRIL_4).live
        assert dashboard_data(start=APRIL_1, end=APRIL_4) == live(APRIL_1, APRIL_4)


def test_the_beat_task_backfills_a_bounded_number_of_old_days_per_run(world, settings, monkeypatch):
    settings.DASHBOARD_ROLLUP_REFRESH_DAYS = 1
    monkeypatch.setattr("chats.compliance.rollup.BACKFILL_DAYS_PER_RUN", 2)
    with time_machine.travel(datetime.datetime(2026, 4, 20, tzinfo=UTC), tick=False):
        # 19 April (recent), then the two newest of the 18 older days never rolled up
        assert rollup_days_due() == [D(2026, 4, 19), D(2026, 4, 18), D(2026, 4, 17)]
        refresh_dashboard_rollup_task.delay().get()
        assert rollup_days_due() == [D(2026, 4, 19), D(2026, 4, 16), D(2026, 4, 15)]


def test_the_beat_entry_runs_every_15_minutes():
    entry = settings.CELERY_BEAT_SCHEDULE["refresh-dashboard-rollup"]
    assert entry == {"task": refresh_dashboard_rollup_task.name, "schedule": 900.0}


def test_the_command_backfills_a_span_and_refuses_bad_input(world, capsys):
    with time_machine.travel(LATER, tick=False):
        call_command("rollup_dashboard", since="2026-04-01", until="2026-04-03")
        assert "Rolled up 3 days from 2026-04-01 to 2026-04-03" in capsys.readouterr().out
        assert sorted(RolledUpDay.objects.values_list("day", flat=True)) == days_from(D(2026, 4, 1), D(2026, 4, 3))
        call_command("rollup_dashboard", since="2026-04-08")  # until defaults to yesterday
        assert RolledUpDay.objects.filter(day__gte=D(2026, 4, 8)).count() == 2
        for bad, message in (({"since": "2026-04-01", "until": "2026-04-10"}, "before today"),
                             ({"since": "1 April"}, "YYYY-MM-DD"),
                             ({"since": "2026-04-05", "until": "2026-04-02"}, "comes after")):
            with pytest.raises(CommandError, match=message):
                call_command("rollup_dashboard", **bad)
        assert dashboard_data(start=APRIL_1, end=APRIL_4) == live(APRIL_1, APRIL_4)


def test_the_scale_generator_builds_the_rollup():
    from chats.devtools.scale import generate_scale_data

    # when: a small data set is generated
    report = generate_scale_data(accounts=40, messages=600, reps=4, log=lambda _: None)
    # then: every day from the first message to yesterday is rolled up
    first = Message.objects.order_by("created_at").first().created_at.date()
    today = datetime.datetime.now(UTC).date()
    rolled = sorted(RolledUpDay.objects.values_list("day", flat=True))
    assert rolled == days_from(first, today - datetime.timedelta(days=1))
    assert report.counts["rolled-up days"] == len(rolled) == (today - first).days
    # and: a 90-day dashboard reads those days from the rollup, with the live numbers
    end = datetime.datetime.combine(today + datetime.timedelta(days=1), datetime.time.min, tzinfo=UTC)
    start = end - datetime.timedelta(days=90)
    assert sorted(coverage(start=start, end=end).rolled) == [d for d in rolled if d >= start.date()]
    assert dashboard_data(start=start, end=end) == live(start, end)


def test_seed_activity_recomputes_the_days_already_rolled_up():
    # given: the demo, and the last three days rolled up while they held no message
    call_command("seed_demo", accounts=10, stdout=io.StringIO())
    today = datetime.datetime.now(UTC).date()
    dashboard_rollup_refresh(days=days_from(today - datetime.timedelta(days=3), today - datetime.timedelta(days=1)))
    # when: a week of activity is generated into the past
    call_command("seed_activity", days=7, stdout=io.StringIO())
    # then: the rolled-up days were recomputed with the new messages, and the others are still counted live
    end = datetime.datetime.combine(today + datetime.timedelta(days=1), datetime.time.min, tzinfo=UTC)
    start = end - datetime.timedelta(days=8)
    assert len(coverage(start=start, end=end).rolled) == 3
    assert sum(RolledUpDay.objects.values_list("replies", flat=True)) > 0
    data = dashboard_data(start=start, end=end)
    assert sum(data["messages"]["sent"]) > 0 and data == live(start, end)
