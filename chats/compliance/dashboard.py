"""The admin dashboard's numbers: one query per chart (definitions in docs/compliance.md).

Every function takes a half-open UTC range [start, end) and returns plain
lists/dicts ready for json_script. Days are UTC calendar days (TruncDate under
TIME_ZONE = "UTC").

Message charts read the daily rollup for the range's rolled-up days and count
the other days (today, and any day not rolled up yet) from the messages, in one
statement: the stored rows and the live rows (chats.compliance.rollup, same
columns) are joined with UNION ALL and the chart's aggregate runs over both, so
the totals, the order and the top 20 are the database's own, as before.
`coverage()` (one query) says which days are which; `dashboard_data` reads it
once for all charts.
"""
import datetime
import statistics

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count, F, Q
from django.db.models.functions import TruncDate

from chats.compliance.rollup import (
    Coverage, Dimension, columns, coverage, live_rows, reply_medians, stored_rows,
)
from chats.models import Message, PhoneNumber, SafetyCase
from consent.models import ConsentEvent, ConsentStatus
from templates_app.models import MessageTemplate

S = Message.Status
HANDED_TO_META = (S.SENT, S.DELIVERED, S.READ)
TOP = 20
# Meta's pricing categories in the order the tables show them; a category Meta adds later follows them
# (alphabetically), and messages no status has priced yet come last.
PRICING_CATEGORIES = ("marketing", "marketing_lite", "utility", "authentication", "authentication_international",
                      "service", "referral_conversion")
UNPRICED = "unpriced"


def days_between(start: datetime.datetime, end: datetime.datetime) -> list[datetime.date]:
    first, last = start.date(), (end - datetime.timedelta(microseconds=1)).date()
    return [first + datetime.timedelta(days=i) for i in range((last - first).days + 1)]


def _per_day(rows, days, *keys) -> dict:
    by_day = {row["day"]: row for row in rows}
    return {"labels": [d.isoformat() for d in days],
            **{k: [by_day.get(d, {}).get(k) or 0 for d in days] for k in keys}}


def _in_range(start, end, field="created_at"):
    return Q(**{f"{field}__gte": start, f"{field}__lt": end})


def _table(model, field: str | None = None) -> str:
    """A model's quoted table name, or the quoted column of one of its fields ("pk": its primary key)."""
    quote = connection.ops.quote_name
    if field is None:
        return quote(model._meta.db_table)
    return quote((model._meta.pk if field == "pk" else model._meta.get_field(field)).column)


def _tally(dimension: str, cover: Coverage, select: str, params=()) -> list[tuple]:
    """Run `select` over `tally`: the dimension's stored rows of rolled-up days and live rows of the rest."""
    parts = []
    if cover.rolled:
        parts.append(stored_rows(dimension, days=sorted(cover.rolled)))
    if cover.live:
        parts.append(live_rows(dimension, intervals=cover.live))
    sqls, all_params = [], []
    for queryset in parts:
        sql, part_params = queryset.query.sql_with_params()
        sqls.append(f"SELECT * FROM ({sql}) part{len(sqls)}")
        all_params += part_params
    with connection.cursor() as cursor:
        cursor.execute(f"WITH tally ({', '.join(columns(dimension))}) AS ({' UNION ALL '.join(sqls)}) {select}",
                       [*all_params, *params])
        return cursor.fetchall()


def _daily(dimension: str, cover: Coverage, select: str, params, keys, start, end) -> dict:
    """A per-day chart: `select` returns (day, *keys) rows; SQLite gives days as text, PostgreSQL as dates."""
    rows = [{"day": day if isinstance(day, datetime.date) else datetime.date.fromisoformat(day),
             **{k: int(v or 0) for k, v in zip(keys, values)}}
            for day, *values in _tally(dimension, cover, select, params)]
    return _per_day(rows, days_between(start, end), *keys)


def _cover(start, end, cover):
    return cover if cover is not None else coverage(start=start, end=end)


def messages_per_day(*, start, end, cover: Coverage | None = None) -> dict:
    """Sent (outbound handed to Meta: sent, delivered or read) and received (inbound) per day."""
    select = ("SELECT day, SUM(CASE WHEN status IN (%s, %s, %s) THEN outbound ELSE 0 END), SUM(inbound) "
              "FROM tally GROUP BY day")
    return _daily(Dimension.STATUS, _cover(start, end, cover), select, HANDED_TO_META, ("sent", "received"),
                  start, end)


def delivery_rates_per_day(*, start, end, cover: Coverage | None = None) -> dict:
    """Of outbound messages handed to Meta that day: % delivered (delivered or read) and % read."""
    select = ("SELECT day,"
              " SUM(CASE WHEN status IN (%s, %s, %s) OR (status = %s AND with_sent_at) THEN outbound ELSE 0 END),"
              " SUM(CASE WHEN status IN (%s, %s) THEN outbound ELSE 0 END),"
              " SUM(CASE WHEN status = %s THEN outbound ELSE 0 END) "
              "FROM tally GROUP BY day")
    params = (*HANDED_TO_META, S.FAILED, S.DELIVERED, S.READ, S.READ)
    data = _daily(Dimension.STATUS, _cover(start, end, cover), select, params, ("handed", "delivered", "read"),
                  start, end)
    rate = lambda part, whole: round(100.0 * part / whole, 1) if whole else None  # noqa: E731
    data["delivery_rate"] = [rate(d, h) for d, h in zip(data["delivered"], data["handed"])]
    data["read_rate"] = [rate(r, h) for r, h in zip(data["read"], data["handed"])]
    return data


def failures_by_reason(*, start, end, cover: Coverage | None = None) -> dict:
    """Failed outbound messages by Rapport's failure code (Meta's other errors are `meta_error`)."""
    select = ("SELECT failure_code, SUM(outbound) AS n FROM tally WHERE status = %s "
              "GROUP BY failure_code HAVING SUM(outbound) > 0 ORDER BY n DESC, failure_code")
    rows = _tally(Dimension.STATUS, _cover(start, end, cover), select, [S.FAILED])
    return {"labels": [code or "unknown" for code, _ in rows], "counts": [int(n) for _, n in rows]}


def consent_changes_per_day(*, start, end, cover: Coverage | None = None) -> dict:
    """Consent events that changed the status: opt-ins and opt-outs per day (re-captures excluded).

    Always live: consent events are few (measured in docs/compliance.md) and `at` is indexed.
    """
    rows = (ConsentEvent.objects.filter(_in_range(start, end, "at")).exclude(previous_status=F("status"))
            .annotate(day=TruncDate("at")).values("day")
            .annotate(opt_ins=Count("id", filter=Q(status=ConsentStatus.OPTED_IN)),
                      opt_outs=Count("id", filter=Q(status=ConsentStatus.OPTED_OUT)))
            .order_by("day"))
    return _per_day(rows, days_between(start, end), "opt_ins", "opt_outs")


def templates_by_use(*, start, end, cover: Coverage | None = None) -> dict:
    """Outbound template messages per template (name [language]), the TOP most used."""
    name, language = _table(MessageTemplate, "name"), _table(MessageTemplate, "language")
    select = (f"SELECT t.{name}, t.{language}, SUM(tally.outbound) AS n FROM tally "
              f"JOIN {_table(MessageTemplate)} t ON t.{_table(MessageTemplate, 'pk')} = tally.template_id "
              f"GROUP BY t.{name}, t.{language} HAVING SUM(tally.outbound) > 0 "
              f"ORDER BY n DESC, t.{name}, t.{language} LIMIT {TOP}")
    rows = _tally(Dimension.TEMPLATE, _cover(start, end, cover), select)
    return {"labels": [f"{n} [{lang}]" for n, lang, _ in rows], "counts": [int(count) for *_, count in rows]}


def _by_label(cover: Coverage, model, label: str, key: str) -> dict:
    """Outbound and inbound per `model.label` (joined on tally.`key`), the TOP by total, then by label."""
    column = _table(model, label)
    select = (f"SELECT x.{column}, SUM(tally.outbound), SUM(tally.inbound), SUM(tally.outbound + tally.inbound) "
              f"AS total FROM tally JOIN {_table(model)} x ON x.{_table(model, 'pk')} = tally.{key} "
              f"GROUP BY x.{column} ORDER BY total DESC, x.{column} LIMIT {TOP}")
    rows = _tally(Dimension.TRAFFIC, cover, select)
    return {"labels": [r[0] for r in rows], "outbound": [int(r[1]) for r in rows],
            "inbound": [int(r[2]) for r in rows]}


def per_rep(*, start, end, cover: Coverage | None = None) -> dict:
    """Messages in each rep's threads (sent by them, received from HCPs), the TOP busiest reps."""
    return _by_label(_cover(start, end, cover), get_user_model(), "username", "user_id")


def per_number(*, start, end, cover: Coverage | None = None) -> dict:
    """Messages per business number, outbound and inbound (unrouted inbound included)."""
    return _by_label(_cover(start, end, cover), PhoneNumber, "display_phone_number", "phone_number_id")


def median_response_minutes_per_day(*, start, end, cover: Coverage | None = None) -> dict:
    """Per day of the HCP's reply: the median minutes from our message to that reply (see rollup._REPLIES).

    Rolled-up days bring their stored median (read with the coverage); the live days take one query.
    """
    cover = _cover(start, end, cover)
    medians = {day: value for day, value in cover.rolled.items() if value[1]}
    if cover.live:
        medians.update(reply_medians(intervals=cover.live))
    days = days_between(start, end)
    return {"labels": [d.isoformat() for d in days],
            "median_minutes": [round(medians[d][0] / 60, 1) if d in medians else None for d in days],
            "replies": [medians[d][1] if d in medians else 0 for d in days]}


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def next_month(month: datetime.date) -> datetime.date:
    return (month.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


def month_bounds(first: datetime.date, last: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """[first month's first instant, the instant after the last month), UTC (TIME_ZONE, like the days above)."""
    start = datetime.datetime.combine(month_start(first), datetime.time.min, tzinfo=datetime.UTC)
    end = datetime.datetime.combine(next_month(month_start(last)), datetime.time.min, tzinfo=datetime.UTC)
    return start, end


def _category_order(seen) -> list[str]:
    known = [c for c in PRICING_CATEGORIES if c in seen]
    return known + sorted(c for c in seen if c not in PRICING_CATEGORIES and c != UNPRICED) + (
        [UNPRICED] if UNPRICED in seen else [])


def _day(value) -> datetime.date:
    return value if isinstance(value, datetime.date) else datetime.date.fromisoformat(value)


def pricing_by_month(*, start, end, cover: Coverage | None = None) -> dict:
    """Outbound messages created in [start, end) per month (UTC) and Meta pricing category, and how many of
    each month's were billable, free (priced, not billable) and unpriced. Categories with no message are left out.

    {"labels": ["2026-03", ...], "categories": [...], "counts": {category: [per month]}, "total": [...],
     "billable": [...], "free": [...], "unpriced": [...]}
    """
    select = "SELECT day, pricing_category, billable, SUM(outbound) FROM tally GROUP BY day, pricing_category, billable"
    rows = _tally(Dimension.PRICING, _cover(start, end, cover), select)
    months, month = [], month_start(start.date())
    while month < end.date():
        months.append(month)
        month = next_month(month)
    index = {m: i for i, m in enumerate(months)}
    counts, billable = {}, [0] * len(months)
    for day, category, is_billable, n in rows:
        i, category, n = index[month_start(_day(day))], category or UNPRICED, int(n)
        counts.setdefault(category, [0] * len(months))[i] += n
        billable[i] += n if is_billable else 0
    total = [sum(column) for column in zip(*counts.values())] if counts else [0] * len(months)
    unpriced = counts.get(UNPRICED, [0] * len(months))
    categories = _category_order(counts)
    return {"labels": [m.strftime("%Y-%m") for m in months], "categories": categories,
            "counts": {c: counts[c] for c in categories}, "total": total, "billable": billable,
            "free": [t - b - u for t, b, u in zip(total, billable, unpriced)], "unpriced": unpriced}


def pricing_by_rep(*, start, end, cover: Coverage | None = None) -> dict:
    """Outbound messages created in [start, end) per sender (Message.sender) and Meta pricing category, busiest
    first, then by username; messages without a sender (none today) under the rep None.

    {"categories": [...], "rows": [{"rep": "rep.alex", "counts": [per category], "total": n, "billable": n}]}
    """
    user = get_user_model()
    username = _table(user, "username")
    select = (f"SELECT u.{username}, tally.pricing_category, SUM(tally.outbound), "
              f"SUM(CASE WHEN tally.billable THEN tally.outbound ELSE 0 END) FROM tally "
              f"LEFT JOIN {_table(user)} u ON u.{_table(user, 'pk')} = tally.user_id "
              f"GROUP BY u.{username}, tally.pricing_category")
    by_rep = {}
    for rep, category, n, billable in _tally(Dimension.PRICING_REP, _cover(start, end, cover), select):
        counts = by_rep.setdefault(rep, {"counts": {}, "billable": 0})
        counts["counts"][category or UNPRICED] = counts["counts"].get(category or UNPRICED, 0) + int(n)
        counts["billable"] += int(billable or 0)
    categories = _category_order({c for row in by_rep.values() for c in row["counts"]})
    rows = [{"rep": rep, "counts": [row["counts"].get(c, 0) for c in categories],
             "total": sum(row["counts"].values()), "billable": row["billable"]} for rep, row in by_rep.items()]
    rows.sort(key=lambda row: (-row["total"], row["rep"] is None, row["rep"] or ""))
    return {"categories": categories, "rows": [row for row in rows if row["total"]]}


def dashboard_data(*, start: datetime.datetime, end: datetime.datetime, cover: Coverage | None = None) -> dict:
    """Every chart's numbers for [start, end): one query to read the coverage, then one per chart.

    (The response chart needs no query of its own when every day of the range is rolled up.)
    """
    cover = _cover(start, end, cover)
    return {
        "messages": messages_per_day(start=start, end=end, cover=cover),
        "rates": delivery_rates_per_day(start=start, end=end, cover=cover),
        "failures": failures_by_reason(start=start, end=end, cover=cover),
        "response": median_response_minutes_per_day(start=start, end=end, cover=cover),
        "consent": consent_changes_per_day(start=start, end=end),
        "templates": templates_by_use(start=start, end=end, cover=cover),
        "reps": per_rep(start=start, end=end, cover=cover),
        "numbers": per_number(start=start, end=end, cover=cover),
    }


def safety_cases_per_week(*, start: datetime.datetime, end: datetime.datetime) -> list[dict]:
    """Possible adverse events received in [start, end), per ISO week (Monday first, UTC): how many, how
    many forwarded to drug safety, how many of those after their deadline, and the median hours from
    receipt to forward. One query; cases are few next to messages."""
    weeks: dict[datetime.date, list] = {}
    for received_at, due_at, forwarded_at in (SafetyCase.objects.filter(received_at__gte=start, received_at__lt=end)
                                              .values_list("received_at", "due_at", "forwarded_at")):
        day = received_at.astimezone(datetime.UTC).date()
        weeks.setdefault(day - datetime.timedelta(days=day.weekday()), []).append((received_at, due_at, forwarded_at))
    rows = []
    for week in sorted(weeks):
        cases = weeks[week]
        forwarded = [(f - r).total_seconds() / 3600 for r, _, f in cases if f is not None]
        rows.append({"week": week, "cases": len(cases), "forwarded": len(forwarded),
                     "forwarded_late": sum(1 for _, due, f in cases if f is not None and f > due),
                     "median_hours_to_forward": round(statistics.median(forwarded), 1) if forwarded else None})
    return rows
