"""Time each dashboard chart's query on a large database (services profile). Not collected by pytest.

    DATABASE_URL=postgres://.../rapport_bench python -m tests.compliance.bench_dashboard --generate 1000000 --rollup
    DATABASE_URL=postgres://.../rapport_bench python -m tests.compliance.bench_dashboard

--generate N inserts N messages (PostgreSQL, one INSERT ... SELECT generate_series) spread every 7.7 s
back from now over the existing threads (run seed_demo and seed_activity first), then VACUUM ANALYZE.
--generate-consent N inserts N consent events spread over the last 90 days (the consent chart stays live).
--rollup then rolls up every past day (as `rollup_dashboard` would) and reports how long that took.
Each range is timed twice: "live" counts every day from the messages (the dashboard before the rollup,
or with no rollup built), "rolled" reads the rollup for the days it holds and counts only today live.
"""
import argparse
import datetime
import os
import statistics
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

GENERATE = """
INSERT INTO chats_message (thread_id, account_id, phone_number_id, sender_id, direction, kind, body,
  template_variables, wa_type, wa_from, wa_phone_number_id, media, pricing, status, failure_code, failure_reason,
  error_title, error_details, send_attempts, unrouted_reason, created_at, sent_at)
SELECT th.id, th.account_id, th.phone_number_id, CASE WHEN g.inbound THEN NULL ELSE th.user_id END,
  CASE WHEN g.inbound THEN 'inbound' ELSE 'outbound' END, 'text', 'Bench message ' || g.i, '{}'::jsonb, '', '', '',
  '{}'::jsonb,
  CASE WHEN g.inbound OR g.i %% 5 = 4 THEN '{}'::jsonb  -- outbound sent, delivered or read: priced by Meta
       ELSE jsonb_build_object('category', (ARRAY['marketing','utility','service','authentication'])[1 + (g.i %% 4)],
                               'type', CASE WHEN g.i %% 4 = 2 THEN 'free_customer_service' ELSE 'regular' END,
                               'pricing_model', 'PMP', 'billable', g.i %% 4 <> 2) END,
  CASE WHEN g.inbound THEN 'received' ELSE (ARRAY['sent','delivered','read','read','failed'])[1 + (g.i %% 5)] END,
  CASE WHEN NOT g.inbound AND g.i %% 5 = 4 THEN (ARRAY['window_closed','meta_error','opted_out'])[1 + (g.i %% 3)]
       ELSE '' END,
  '', '', '', 0, '', g.at, CASE WHEN g.inbound THEN NULL ELSE g.at END
FROM (SELECT i, (i %% 3 = 0) AS inbound, now() - (i * interval '7.7 seconds') AS at,
             1 + (i %% (SELECT count(*) FROM chats_thread)) AS n
      FROM generate_series(1, %s) AS i) g
JOIN (SELECT row_number() OVER (ORDER BY id) AS n, id, account_id, phone_number_id, user_id FROM chats_thread) th
  ON th.n = g.n
"""

# N consent events (append-only: only ever inserted) spread evenly over the last 90 days on the existing
# HCPs: opt-ins, opt-outs and re-captures (not counted by the chart) in turn.
GENERATE_CONSENT = """
INSERT INTO consent_consentevent (account_id, previous_status, status, via, at, details)
SELECT a.id, (ARRAY['not_captured', 'opted_in', 'opted_in'])[1 + g.i %% 3],
       (ARRAY['opted_in', 'opted_out', 'opted_in'])[1 + g.i %% 3], 'keyword',
       now() - (g.i * (interval '90 days' / %s)), '{}'::jsonb
FROM generate_series(1, %s) AS g(i)
JOIN (SELECT row_number() OVER (ORDER BY id) AS n, id FROM chats_account) a
  ON a.n = 1 + g.i %% (SELECT count(*) FROM chats_account)
"""

CHARTS = ("messages_per_day", "delivery_rates_per_day", "failures_by_reason", "median_response_minutes_per_day",
          "consent_changes_per_day", "templates_by_use", "per_rep", "per_number", "pricing_by_month", "pricing_by_rep")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--generate", type=int, default=0)
    parser.add_argument("--generate-consent", type=int, default=0, help="Insert N consent events over 90 days.")
    parser.add_argument("--rollup", action="store_true", help="Roll up every past day first (timed).")
    args = parser.parse_args()
    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from chats.compliance import dashboard
    from chats.compliance.rollup import Coverage, coverage, dashboard_rollup_refresh, every_past_day

    if args.generate:
        with connection.cursor() as cursor:
            cursor.execute(GENERATE, [args.generate])
            cursor.execute("VACUUM ANALYZE chats_message")
    if args.generate_consent:
        with connection.cursor() as cursor:
            cursor.execute(GENERATE_CONSENT, [args.generate_consent, args.generate_consent])
            cursor.execute("VACUUM ANALYZE consent_consentevent")
    if args.rollup:
        began = time.perf_counter()
        result = dashboard_rollup_refresh(days=every_past_day())
        print(f"rollup of {result['days']} days ({result['rows']} rows) in {time.perf_counter() - began:.1f} s")
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE chats_dailymessagerollup")
            cursor.execute("VACUUM ANALYZE chats_rolledupday")
    end = datetime.datetime.combine(timezone.now().date() + datetime.timedelta(days=1), datetime.time.min,
                                    tzinfo=datetime.UTC)
    for days in (30, 90, 365):  # 365: the pricing tables' default of 12 months
        start = end - datetime.timedelta(days=days)
        for mode in ("live", "rolled"):
            cover = Coverage.all_live(start=start, end=end) if mode == "live" else coverage(start=start, end=end)
            print(f"range {days} days, {mode} ({len(cover.rolled)} days from the rollup)")
            for name in CHARTS:
                chart = getattr(dashboard, name)
                chart(start=start, end=end, cover=cover)
                times = []
                for _ in range(3):
                    began = time.perf_counter()
                    chart(start=start, end=end, cover=cover)
                    times.append((time.perf_counter() - began) * 1000)
                print(f"  {name:34s} median {statistics.median(times):7.0f} ms")
            totals = []
            for _ in range(3):
                with CaptureQueriesContext(connection) as queries:
                    began = time.perf_counter()
                    # rolled: the page's own path, the coverage query included
                    dashboard.dashboard_data(start=start, end=end, cover=cover if mode == "live" else None)
                    totals.append((time.perf_counter() - began) * 1000)
            print(f"  dashboard_data total: median {statistics.median(totals):.0f} ms of 3 "
                  f"({', '.join(f'{t:.0f}' for t in totals)}) in {len(queries)} queries")


if __name__ == "__main__":
    main()
