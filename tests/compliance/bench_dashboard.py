"""Time each dashboard chart's query on a large database (services profile). Not collected by pytest.

    DATABASE_URL=postgres://.../rapport_bench python -m tests.compliance.bench_dashboard --generate 1000000
    DATABASE_URL=postgres://.../rapport_bench python -m tests.compliance.bench_dashboard

--generate N inserts N messages (PostgreSQL, one INSERT ... SELECT generate_series) spread every 7.7 s
back from now over the existing threads (run seed_demo and seed_activity first), then VACUUM ANALYZE.
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
  template_variables, wa_type, wa_from, wa_phone_number_id, media, status, failure_code, failure_reason,
  error_title, error_details, send_attempts, unrouted_reason, created_at, sent_at)
SELECT th.id, th.account_id, th.phone_number_id, CASE WHEN g.inbound THEN NULL ELSE th.user_id END,
  CASE WHEN g.inbound THEN 'inbound' ELSE 'outbound' END, 'text', 'Bench message ' || g.i, '{}'::jsonb, '', '', '',
  '{}'::jsonb,
  CASE WHEN g.inbound THEN 'received' ELSE (ARRAY['sent','delivered','read','read','failed'])[1 + (g.i % 5)] END,
  CASE WHEN NOT g.inbound AND g.i % 5 = 4 THEN (ARRAY['window_closed','meta_error','opted_out'])[1 + (g.i % 3)]
       ELSE '' END,
  '', '', '', 0, '', g.at, CASE WHEN g.inbound THEN NULL ELSE g.at END
FROM (SELECT i, (i % 3 = 0) AS inbound, now() - (i * interval '7.7 seconds') AS at,
             1 + (i % (SELECT count(*) FROM chats_thread)) AS n
      FROM generate_series(1, %s) AS i) g
JOIN (SELECT row_number() OVER (ORDER BY id) AS n, id, account_id, phone_number_id, user_id FROM chats_thread) th
  ON th.n = g.n
"""

CHARTS = ("messages_per_day", "delivery_rates_per_day", "failures_by_reason", "median_response_minutes_per_day",
          "consent_changes_per_day", "templates_by_use", "per_rep", "per_number")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--generate", type=int, default=0)
    args = parser.parse_args()
    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from chats.compliance import dashboard

    if args.generate:
        with connection.cursor() as cursor:
            cursor.execute(GENERATE, [args.generate])
            cursor.execute("VACUUM ANALYZE chats_message")
    end = datetime.datetime.combine(timezone.now().date() + datetime.timedelta(days=1), datetime.time.min,
                                    tzinfo=datetime.UTC)
    for days in (30, 90):
        start = end - datetime.timedelta(days=days)
        print(f"range {days} days")
        for name in CHARTS:
            chart = getattr(dashboard, name)
            chart(start=start, end=end)
            times = []
            for _ in range(3):
                began = time.perf_counter()
                chart(start=start, end=end)
                times.append((time.perf_counter() - began) * 1000)
            print(f"  {name:34s} median {statistics.median(times):7.0f} ms")
        with CaptureQueriesContext(connection) as queries:
            began = time.perf_counter()
            dashboard.dashboard_data(start=start, end=end)
            total = (time.perf_counter() - began) * 1000
        print(f"  dashboard_data total {total:.0f} ms in {len(queries)} queries")


if __name__ == "__main__":
    main()
