"""The admin dashboard's daily rollup (docs/compliance.md, "The daily rollup").

For each UTC day that is over, DailyMessageRollup holds the day's messages
counted along three dimensions (status, rep and number, template) and
RolledUpDay marks the day as rolled up and holds its median response time.
The dashboard reads those rows for rolled-up days and computes the other days
live with the very same queries (`live_rows`, `reply_medians`), so both halves
of a range have one shape and merge exactly.

A rolled-up day is as fresh as its last refresh: the beat recomputes the last
DASHBOARD_ROLLUP_REFRESH_DAYS days every 15 minutes (late read receipts) and
any older day never rolled up; `manage.py rollup_dashboard` recomputes any days.
"""
from __future__ import annotations

import datetime
import logging
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import BooleanField, Case, Count, ExpressionWrapper, F, Q, QuerySet, Value, When
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce, Lower, Substr, TruncDate
from django.db.models.lookups import Exact
from django.utils import timezone

from chats.models import DailyMessageRollup, Message, RolledUpDay

logger = logging.getLogger(__name__)

OUT, IN = Message.Direction.OUTBOUND, Message.Direction.INBOUND
DAY = datetime.timedelta(days=1)
REPLY_HORIZON = datetime.timedelta(days=7)  # a later answer is not counted as a response
SQLITE_MEDIAN_ROW_CAP = 200_000  # the Python median on SQLite reads at most this many reply times
BACKFILL_DAYS_PER_RUN = 60  # older days never rolled up, per beat run (the command does any number at once)

Interval = tuple[datetime.datetime, datetime.datetime]
Dimension = DailyMessageRollup.Dimension

# Meta's pricing of a message (Message.pricing, from its statuses): the category as Meta names it, lower case,
# empty while no status has priced it; billable when priced and not free. Free: `billable` false, or a `type`
# of free_... (free_customer_service, free_entry_point); `regular` and the rest are paid.
PRICING_CATEGORY = Coalesce(Substr(Lower(KeyTextTransform("category", "pricing")), 1, 40), Value(""))
PRICING_BILLABLE = Case(
    When(Exact(PRICING_CATEGORY, Value("")), then=Value(False)),
    When(Q(pricing__billable=False) | Q(pricing__type__istartswith="free_"), then=Value(False)),
    default=Value(True), output_field=BooleanField(),
)

# Per dimension: the rollup's key columns and how each is computed from a message.
KEYS = {
    Dimension.STATUS: {
        "status": F("status"),
        "with_sent_at": ExpressionWrapper(Q(sent_at__isnull=False), output_field=BooleanField()),
        "failure_code": F("failure_code"),
    },
    Dimension.TRAFFIC: {"user_id": F("thread__user_id"), "phone_number_id": F("phone_number_id")},
    Dimension.TEMPLATE: {"template_id": F("template_id")},
    # two pricing dimensions: a year by month sums ~10 rows a day, not one per rep (measured, docs/compliance.md)
    Dimension.PRICING: {"pricing_category": PRICING_CATEGORY, "billable": PRICING_BILLABLE},
    Dimension.PRICING_REP: {"user_id": F("sender_id"), "pricing_category": PRICING_CATEGORY,
                            "billable": PRICING_BILLABLE},
}
ONLY = {Dimension.TEMPLATE: Q(template__isnull=False), Dimension.PRICING: Q(direction=OUT),
        Dimension.PRICING_REP: Q(direction=OUT)}


def utc_today() -> datetime.date:
    return timezone.now().astimezone(datetime.UTC).date()


def day_bounds(day: datetime.date) -> Interval:
    start = datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.UTC)
    return start, start + DAY


def columns(dimension: str) -> list[str]:
    """The columns of a dimension's rows, stored or live, in order."""
    return ["day", *KEYS[dimension], "outbound", "inbound"]


def live_rows(dimension: str, *, intervals: list[Interval]) -> QuerySet:
    """Rows shaped like the rollup's (columns(dimension)), counted now from the messages created in `intervals`."""
    if not intervals:
        raise ValueError("no interval to count")
    in_range = Q()
    for start, end in intervals:
        in_range |= Q(created_at__gte=start, created_at__lt=end)
    keys = {f"k_{name}": expression for name, expression in KEYS[dimension].items()}
    return (Message.objects.filter(in_range).filter(ONLY.get(dimension, Q()))
            .values(k_day=TruncDate("created_at"), **keys)
            .annotate(outbound=Count("id", filter=Q(direction=OUT)), inbound=Count("id", filter=Q(direction=IN)))
            .order_by())


def stored_rows(dimension: str, *, days: list[datetime.date]) -> QuerySet:
    """The rollup's rows of `days` (columns(dimension))."""
    return (DailyMessageRollup.objects.filter(dimension=dimension, day__in=days)
            .values_list(*columns(dimension)).order_by())


# A reply is an inbound message whose previous message in the same conversation
# (business number + HCP, ordered by created_at then id) is outbound; its response
# time is the gap between the two, counted when under REPLY_HORIZON. LAG() needs
# the messages just before each interval too, hence the scan from start - horizon.
# A reply's previous message older than that is more than the horizon away, so
# scanning more or less of the past never changes a day's result: a day's median
# is the same whether computed alone (the rollup) or inside any range (live).
_REPLIES = """
    SELECT created_at, prev_at FROM (
        SELECT m.created_at, m.direction,
               LAG(m.direction) OVER w AS prev_direction, LAG(m.created_at) OVER w AS prev_at
        FROM chats_message m
        WHERE m.account_id IS NOT NULL AND m.phone_number_id IS NOT NULL AND ({scan})
        WINDOW w AS (PARTITION BY m.phone_number_id, m.account_id ORDER BY m.created_at, m.id)
    ) o
    WHERE o.direction = 'inbound' AND o.prev_direction = 'outbound' AND ({counted})
"""

_MEDIAN_PG = """
    SELECT (r.created_at AT TIME ZONE 'UTC')::date AS day,
           PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM r.created_at - r.prev_at)) AS median,
           COUNT(*) AS n
    FROM ({replies}) r
    WHERE r.created_at - r.prev_at <= %s
    GROUP BY 1 ORDER BY 1
"""

_SECONDS_SQLITE = f"""
    SELECT date(r.created_at) AS day, (julianday(r.created_at) - julianday(r.prev_at)) * 86400.0 AS seconds
    FROM ({{replies}}) r
    WHERE (julianday(r.created_at) - julianday(r.prev_at)) * 86400.0 <= %s
    LIMIT {SQLITE_MEDIAN_ROW_CAP}
"""


def reply_medians(*, intervals: list[Interval]) -> dict[datetime.date, tuple[float, int]]:
    """Per day of an HCP reply in `intervals`: (median seconds from our message to the reply, replies). One query."""
    if not intervals:
        raise ValueError("no interval to count")
    adapt = connection.ops.adapt_datetimefield_value  # stored form: naive UTC text on SQLite
    between = " OR ".join(["({col} >= %s AND {col} < %s)"] * len(intervals))
    replies = _REPLIES.format(scan=between.format(col="m.created_at"), counted=between.format(col="o.created_at"))
    params = [adapt(t) for start, end in intervals for t in (start - REPLY_HORIZON, end)]
    params += [adapt(t) for interval in intervals for t in interval]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_MEDIAN_PG.format(replies=replies), [*params, REPLY_HORIZON])
            return {day: (float(median), n) for day, median, n in cursor.fetchall()}
        # SQLite has LAG() but no PERCENTILE_CONT: the window query still runs in SQL,
        # the median per day in Python over at most SQLITE_MEDIAN_ROW_CAP reply times.
        cursor.execute(_SECONDS_SQLITE.format(replies=replies), [*params, REPLY_HORIZON.total_seconds()])
        seconds = defaultdict(list)
        for day, value in cursor.fetchall():
            seconds[datetime.date.fromisoformat(day)].append(value)
    return {day: (statistics.median(values), len(values)) for day, values in seconds.items()}


@dataclass(frozen=True)
class Coverage:
    """How a range [start, end) is read: `rolled` days from the rollup, `live` intervals from the messages."""

    rolled: dict[datetime.date, tuple[float | None, int]]  # day -> (median reply seconds, replies)
    live: list[Interval]

    def within(self, *, start: datetime.datetime, end: datetime.datetime) -> Coverage:
        """The part of this coverage inside [start, end) (a sub-range): no second query."""
        rolled, live = {}, []
        for day, value in self.rolled.items():
            day_start, day_end = day_bounds(day)
            if start <= day_start and day_end <= end:
                rolled[day] = value
            elif day_start < end and start < day_end:  # a rolled day cut by the range: its part is counted live
                live.append((max(start, day_start), min(end, day_end)))
        live += [(max(start, s), min(end, e)) for s, e in self.live if s < end and start < e]
        return Coverage(rolled=rolled, live=sorted(live))

    @classmethod
    def all_live(cls, *, start: datetime.datetime, end: datetime.datetime) -> Coverage:
        return cls(rolled={}, live=[(start, end)])


def coverage(*, start: datetime.datetime, end: datetime.datetime) -> Coverage:
    """Which days of [start, end) are rolled up (whole days before today only); the rest is live. One query."""
    first = (start - datetime.timedelta(microseconds=1)).astimezone(datetime.UTC).date() + DAY  # first whole day
    stop = min(end.astimezone(datetime.UTC).date(), utc_today())  # days before this one may be rolled up
    rows = RolledUpDay.objects.filter(day__gte=first, day__lt=stop).values_list("day", "reply_median_seconds",
                                                                              "replies")
    rolled = {day: (median, replies) for day, median, replies in rows}
    live, cursor = [], start
    for day in sorted(rolled):
        day_start, day_end = day_bounds(day)
        if cursor < day_start:
            live.append((cursor, day_start))
        cursor = day_end
    if cursor < end:
        live.append((cursor, end))
    return Coverage(rolled=rolled, live=live)


def _roll_up(day: datetime.date) -> int:
    """Replace one day's rollup with counts made now from its messages; returns the rows written."""
    interval = [day_bounds(day)]
    with transaction.atomic():
        RolledUpDay.objects.filter(day=day).delete()
        DailyMessageRollup.objects.filter(day=day).delete()
        rows = [
            DailyMessageRollup(day=day, dimension=dimension, outbound=row["outbound"], inbound=row["inbound"],
                               **{name: row[f"k_{name}"] for name in KEYS[dimension]})
            for dimension in KEYS for row in live_rows(dimension, intervals=interval)
        ]
        DailyMessageRollup.objects.bulk_create(rows, batch_size=1000)
        median, replies = reply_medians(intervals=interval).get(day, (None, 0))
        # unique per day: a run rolling up the same day at the same moment fails here and leaves the other's rows
        RolledUpDay.objects.create(day=day, rolled_at=timezone.now(), replies=replies, reply_median_seconds=median)
    return len(rows)


def dashboard_rollup_refresh(*, days: Iterable[datetime.date]) -> dict:
    """Recompute the rollup of each of `days` (newest first), one transaction per day; running it again is harmless.

    Only days that are over can be rolled up (ValueError otherwise). Returns
    {"days": n, "rows": n, "skipped": [iso days another run was rolling up at the same moment]}.
    """
    days = sorted(set(days), reverse=True)
    if days and days[0] >= utc_today():
        raise ValueError(f"{days[0].isoformat()} is not over yet: only days before today (UTC) are rolled up.")
    done, rows, skipped = 0, 0, []
    for day in days:
        try:
            rows += _roll_up(day)
            done += 1
        except IntegrityError:
            skipped.append(day.isoformat())
    if days:
        logger.info("Dashboard rollup: %d days from %s to %s, %d rows%s.", done, days[-1], days[0], rows,
                    f", skipped {skipped} (rolled up concurrently)" if skipped else "")
    return {"days": done, "rows": rows, "skipped": skipped}


def days_from(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    """Every day from `first` to `last`, both included."""
    return [first + datetime.timedelta(days=i) for i in range((last - first).days + 1)]


def first_message_day() -> datetime.date | None:
    first = Message.objects.order_by("created_at").values_list("created_at", flat=True).first()
    return first.astimezone(datetime.UTC).date() if first else None


def rolled_up_days(*, since: datetime.date, until: datetime.date) -> set[datetime.date]:
    return set(RolledUpDay.objects.filter(day__gte=since, day__lte=until).values_list("day", flat=True))


def every_past_day() -> list[datetime.date]:
    """Every day from the first message (or the first day rolled up, if earlier) to yesterday."""
    firsts = [day for day in (first_message_day(), RolledUpDay.objects.values_list("day", flat=True).first()) if day]
    yesterday = utc_today() - DAY
    return days_from(min(firsts), yesterday) if firsts and min(firsts) <= yesterday else []


def rollup_days_due(*, today: datetime.date | None = None) -> list[datetime.date]:
    """What the beat refreshes: yesterday back DASHBOARD_ROLLUP_REFRESH_DAYS days, then older days (from the
    first message) never rolled up, newest first, at most BACKFILL_DAYS_PER_RUN of them."""
    today = today or utc_today()
    refresh_days = max(0, settings.DASHBOARD_ROLLUP_REFRESH_DAYS)
    recent = [today - datetime.timedelta(days=n) for n in range(1, refresh_days + 1)]
    oldest_recent = today - datetime.timedelta(days=refresh_days)
    first = first_message_day()
    if first is None or first >= oldest_recent:
        return recent
    last_older = oldest_recent - DAY
    rolled = rolled_up_days(since=first, until=last_older)
    older = [day for day in reversed(days_from(first, last_older)) if day not in rolled]
    return recent + older[:BACKFILL_DAYS_PER_RUN]
