"""The admin dashboard's numbers: one aggregate query per chart (definitions in docs/compliance.md).

Every function takes a half-open UTC range [start, end) and returns plain
lists/dicts ready for json_script. Days are UTC calendar days (TruncDate under
TIME_ZONE = "UTC").
"""
import datetime
import statistics
from collections import defaultdict

from django.db import connection
from django.db.models import Count, F, Q
from django.db.models.functions import TruncDate

from chats.models import Message
from consent.models import ConsentEvent, ConsentStatus

OUT, IN = Message.Direction.OUTBOUND, Message.Direction.INBOUND
HANDED_TO_META = (Message.Status.SENT, Message.Status.DELIVERED, Message.Status.READ)
REPLY_HORIZON = datetime.timedelta(days=7)  # a later answer is not counted as a response
TOP = 20
SQLITE_MEDIAN_ROW_CAP = 200_000  # the Python median on SQLite reads at most this many reply times


def days_between(start: datetime.datetime, end: datetime.datetime) -> list[datetime.date]:
    first, last = start.date(), (end - datetime.timedelta(microseconds=1)).date()
    return [first + datetime.timedelta(days=i) for i in range((last - first).days + 1)]


def _per_day(rows, days, *keys) -> dict:
    by_day = {row["day"]: row for row in rows}
    return {"labels": [d.isoformat() for d in days],
            **{k: [by_day.get(d, {}).get(k) or 0 for d in days] for k in keys}}


def _in_range(start, end, field="created_at"):
    return Q(**{f"{field}__gte": start, f"{field}__lt": end})


def messages_per_day(*, start, end) -> dict:
    """Sent (outbound handed to Meta: sent, delivered or read) and received (inbound) per day."""
    rows = (Message.objects.filter(_in_range(start, end))
            .annotate(day=TruncDate("created_at")).values("day")
            .annotate(sent=Count("id", filter=Q(direction=OUT, status__in=HANDED_TO_META)),
                      received=Count("id", filter=Q(direction=IN)))
            .order_by("day"))
    return _per_day(rows, days_between(start, end), "sent", "received")


def delivery_rates_per_day(*, start, end) -> dict:
    """Of outbound messages handed to Meta that day: % delivered (delivered or read) and % read."""
    handed = Q(status__in=HANDED_TO_META) | Q(status=Message.Status.FAILED, sent_at__isnull=False)
    rows = (Message.objects.filter(_in_range(start, end), direction=OUT)
            .annotate(day=TruncDate("created_at")).values("day")
            .annotate(handed=Count("id", filter=handed),
                      delivered=Count("id", filter=Q(status__in=[Message.Status.DELIVERED, Message.Status.READ])),
                      read=Count("id", filter=Q(status=Message.Status.READ)))
            .order_by("day"))
    data = _per_day(rows, days_between(start, end), "handed", "delivered", "read")
    rate = lambda part, whole: round(100.0 * part / whole, 1) if whole else None  # noqa: E731
    data["delivery_rate"] = [rate(d, h) for d, h in zip(data["delivered"], data["handed"])]
    data["read_rate"] = [rate(r, h) for r, h in zip(data["read"], data["handed"])]
    return data


def failures_by_reason(*, start, end) -> dict:
    """Failed outbound messages by Rapport's failure code (Meta's other errors are `meta_error`)."""
    rows = (Message.objects.filter(_in_range(start, end), direction=OUT, status=Message.Status.FAILED)
            .values("failure_code").annotate(n=Count("id")).order_by("-n", "failure_code"))
    return {"labels": [r["failure_code"] or "unknown" for r in rows], "counts": [r["n"] for r in rows]}


def consent_changes_per_day(*, start, end) -> dict:
    """Consent events that changed the status: opt-ins and opt-outs per day (re-captures excluded)."""
    rows = (ConsentEvent.objects.filter(_in_range(start, end, "at")).exclude(previous_status=F("status"))
            .annotate(day=TruncDate("at")).values("day")
            .annotate(opt_ins=Count("id", filter=Q(status=ConsentStatus.OPTED_IN)),
                      opt_outs=Count("id", filter=Q(status=ConsentStatus.OPTED_OUT)))
            .order_by("day"))
    return _per_day(rows, days_between(start, end), "opt_ins", "opt_outs")


def templates_by_use(*, start, end) -> dict:
    """Outbound template messages per template (name [language]), the TOP most used."""
    rows = (Message.objects.filter(_in_range(start, end), direction=OUT, template__isnull=False)
            .values("template__name", "template__language").annotate(n=Count("id"))
            .order_by("-n", "template__name")[:TOP])
    return {"labels": [f"{r['template__name']} [{r['template__language']}]" for r in rows],
            "counts": [r["n"] for r in rows]}


def per_rep(*, start, end) -> dict:
    """Messages in each rep's threads (sent by them, received from HCPs), the TOP busiest reps."""
    rows = (Message.objects.filter(_in_range(start, end), thread__isnull=False)
            .values("thread__user__username")
            .annotate(outbound=Count("id", filter=Q(direction=OUT)), inbound=Count("id", filter=Q(direction=IN)),
                      total=Count("id"))
            .order_by("-total", "thread__user__username")[:TOP])
    return {"labels": [r["thread__user__username"] for r in rows],
            "outbound": [r["outbound"] for r in rows], "inbound": [r["inbound"] for r in rows]}


def per_number(*, start, end) -> dict:
    """Messages per business number, outbound and inbound (unrouted inbound included)."""
    rows = (Message.objects.filter(_in_range(start, end), phone_number__isnull=False)
            .values("phone_number__display_phone_number")
            .annotate(outbound=Count("id", filter=Q(direction=OUT)), inbound=Count("id", filter=Q(direction=IN)),
                      total=Count("id"))
            .order_by("-total", "phone_number__display_phone_number")[:TOP])
    return {"labels": [r["phone_number__display_phone_number"] for r in rows],
            "outbound": [r["outbound"] for r in rows], "inbound": [r["inbound"] for r in rows]}


# A reply is an inbound message whose previous message in the same conversation
# (business number + HCP, ordered by created_at then id) is outbound; its response
# time is the gap between the two, counted when under REPLY_HORIZON. LAG() needs
# the messages just before the range too, hence the scan from start - horizon.
_REPLIES = """
    SELECT created_at, prev_at FROM (
        SELECT m.created_at, m.direction,
               LAG(m.direction) OVER w AS prev_direction, LAG(m.created_at) OVER w AS prev_at
        FROM chats_message m
        WHERE m.account_id IS NOT NULL AND m.phone_number_id IS NOT NULL
          AND m.created_at >= %s AND m.created_at < %s
        WINDOW w AS (PARTITION BY m.phone_number_id, m.account_id ORDER BY m.created_at, m.id)
    ) o
    WHERE o.direction = 'inbound' AND o.prev_direction = 'outbound' AND o.created_at >= %s
"""

_MEDIAN_PG = f"""
    SELECT (r.created_at AT TIME ZONE 'UTC')::date AS day,
           PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM r.created_at - r.prev_at)) AS median,
           COUNT(*) AS n
    FROM ({_REPLIES}) r
    WHERE r.created_at - r.prev_at <= %s
    GROUP BY 1 ORDER BY 1
"""

_SECONDS_SQLITE = f"""
    SELECT date(r.created_at) AS day, (julianday(r.created_at) - julianday(r.prev_at)) * 86400.0 AS seconds
    FROM ({_REPLIES}) r
    WHERE (julianday(r.created_at) - julianday(r.prev_at)) * 86400.0 <= %s
    LIMIT {SQLITE_MEDIAN_ROW_CAP}
"""


def median_response_minutes_per_day(*, start, end) -> dict:
    """Per day of the HCP's reply: the median minutes from our message to that reply (see _REPLIES)."""
    adapt = connection.ops.adapt_datetimefield_value  # stored form: naive UTC text on SQLite
    params = [adapt(start - REPLY_HORIZON), adapt(end), adapt(start)]
    medians: dict[datetime.date, tuple[float, int]] = {}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_MEDIAN_PG, [*params, REPLY_HORIZON])
            medians = {day: (float(median), n) for day, median, n in cursor.fetchall()}
        else:
            # SQLite has LAG() but no PERCENTILE_CONT: the window query still runs in SQL,
            # the median per day in Python over at most SQLITE_MEDIAN_ROW_CAP reply times.
            cursor.execute(_SECONDS_SQLITE, [*params, REPLY_HORIZON.total_seconds()])
            seconds = defaultdict(list)
            for day, value in cursor.fetchall():
                seconds[datetime.date.fromisoformat(day)].append(value)
            medians = {day: (statistics.median(values), len(values)) for day, values in seconds.items()}
    days = days_between(start, end)
    return {"labels": [d.isoformat() for d in days],
            "median_minutes": [round(medians[d][0] / 60, 1) if d in medians else None for d in days],
            "replies": [medians[d][1] if d in medians else 0 for d in days]}


def dashboard_data(*, start: datetime.datetime, end: datetime.datetime) -> dict:
    """Every chart's numbers for [start, end): one query each."""
    return {
        "messages": messages_per_day(start=start, end=end),
        "rates": delivery_rates_per_day(start=start, end=end),
        "failures": failures_by_reason(start=start, end=end),
        "response": median_response_minutes_per_day(start=start, end=end),
        "consent": consent_changes_per_day(start=start, end=end),
        "templates": templates_by_use(start=start, end=end),
        "reps": per_rep(start=start, end=end),
        "numbers": per_number(start=start, end=end),
    }
