"""Exporting an HCP's history: exactly their rows, parseable CSV and JSON, staff only, streamed, by date range."""
import csv
import datetime
import io
import json

import pytest
import time_machine
from django.core.management import call_command
from django.http import StreamingHttpResponse

from chats.compliance.history import COLUMNS, history_rows
from chats.models import AuditEvent
from consent.models import ConsentRecord
from tests.api.conftest import MessageFactory, api_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
UTC = datetime.UTC


def ids_by_record(rows):
    found = {}
    for row in rows:
        found.setdefault(row["record"], set()).add(int(row["id"]))
    return found


def expected_ids(hcp):
    account = hcp["account"]
    return {
        "message": {m.pk for m in hcp["messages"]},
        "consent_record": {ConsentRecord.objects.get(account=account).pk},
        "consent_event": {e.pk for e in hcp["consent_events"]},
        # every audit row about the HCP: the fixture's routing and link rows, and the messages' own
        "audit_event": set(AuditEvent.objects.filter(account=account).values_list("pk", flat=True)),
    }


def streamed_text(response) -> str:
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content).decode()


def test_rows_hold_exactly_the_hcps_history(two_hcps):
    ada, grace = two_hcps["ada"], two_hcps["grace"]
    rows = list(history_rows(account=ada["account"]))
    assert ids_by_record(rows) == expected_ids(ada)
    assert {a.pk for a in ada["audits"]} <= ids_by_record(rows)["audit_event"]
    # nothing of Grace's leaks in
    assert {r["account_id"] for r in rows} == {ada["account"].pk}
    assert not ids_by_record(rows)["message"] & {m.pk for m in grace["messages"]}
    outbound = next(r for r in rows if r["record"] == "message" and r["direction"] == "outbound")
    assert (outbound["status"], outbound["actor"], outbound["thread_owner"]) == ("read", "rep.alex", "rep.alex")
    assert outbound["phone_number"] == "+1 555 010 0001"


def test_admin_csv_export_parses_and_is_audited(two_hcps, admin_client, staff):
    ada = two_hcps["ada"]
    # the account's admin page offers both buttons
    page = admin_client.get(f"/admin/chats/account/{ada['account'].pk}/change/").content.decode()
    assert "Export history (CSV)" in page and "Export history (JSON)" in page
    response = admin_client.get(f"/admin/chats/account/{ada['account'].pk}/history.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(streamed_text(response))))
    assert tuple(rows[0].keys()) == COLUMNS
    exported = ids_by_record(rows)
    assert exported["message"] == expected_ids(ada)["message"]
    assert exported["consent_event"] == expected_ids(ada)["consent_event"]
    # the export itself is in the trail, by whom and for which HCP
    row = AuditEvent.objects.filter(kind=AuditEvent.Kind.HISTORY_EXPORTED).get()
    assert (row.actor, row.account, row.details["format"]) == (staff, ada["account"], "csv")


def test_api_json_export_for_staff(two_hcps, staff):
    ada, grace = two_hcps["ada"], two_hcps["grace"]
    response = api_client(staff).get(f"/api/v1/accounts/{grace['account'].pk}/history/?format=json")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    rows = json.loads(streamed_text(response))
    # (the export's own audit row is written before streaming starts, so it is part of the history)
    assert ids_by_record(rows) == expected_ids(grace)
    assert not {r["account_id"] for r in rows} & {ada["account"].pk}


def test_api_refuses_non_staff_and_bad_input(two_hcps, rep, staff):
    url = f"/api/v1/accounts/{two_hcps['ada']['account'].pk}/history/"
    refused = api_client(rep).get(url + "?format=csv")
    assert refused.status_code == 403 and refused.json()["code"] == "staff_only"
    assert api_client().get(url).status_code == 401
    bad = api_client(staff).get(url + "?format=xml")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"
    assert api_client(staff).get(url + "?since=yesterday").status_code == 400
    assert api_client(staff).get("/api/v1/accounts/999999/history/").status_code == 404


def test_staff_without_the_right_to_view_accounts_may_export_neither_in_admin_nor_through_the_api(two_hcps):
    from django.contrib.auth.models import Permission
    from django.test import Client

    # given a staff member who may not view HCP accounts in admin
    clerk = UserFactory(username="staff.clerk", is_staff=True, licensed=False)
    account = two_hcps["ada"]["account"]
    admin_browser = Client()
    admin_browser.force_login(clerk)
    # when they ask for Ada's history either way, then both refuse, and nothing is recorded as exported
    assert admin_browser.get(f"/admin/chats/account/{account.pk}/history.csv").status_code == 403
    refused = api_client(clerk).get(f"/api/v1/accounts/{account.pk}/history/?format=json")
    assert refused.status_code == 403 and refused.json()["code"] == "staff_only"
    assert not AuditEvent.objects.filter(kind=AuditEvent.Kind.HISTORY_EXPORTED).exists()
    # given the view permission on accounts, then both export
    clerk.user_permissions.add(Permission.objects.get(codename="view_account", content_type__app_label="chats"))
    clerk = type(clerk).objects.get(pk=clerk.pk)  # permissions are cached per user object
    admin_browser.force_login(clerk)
    assert admin_browser.get(f"/admin/chats/account/{account.pk}/history.csv").status_code == 200
    assert api_client(clerk).get(f"/api/v1/accounts/{account.pk}/history/?format=json").status_code == 200


def test_admin_export_refused_for_non_staff(two_hcps, rep):
    from django.test import Client

    client = Client()
    client.force_login(rep)
    response = client.get(f"/admin/chats/account/{two_hcps['ada']['account'].pk}/history.csv")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_command_exports_the_date_range_across_hcps(two_hcps, rep, tmp_path):
    # given: one more message on each of three days
    thread = two_hcps["ada"]["thread"]
    made = {}
    for day in (1, 2, 3):
        with time_machine.travel(datetime.datetime(2026, 5, day, 12, tzinfo=UTC), tick=False):
            made[day] = MessageFactory(thread=thread, sender=rep, body=f"May {day}")
    out = tmp_path / "may.json"
    # when: exporting 2 May to 3 May inclusive
    call_command("export_history", "--since", "2026-05-02", "--until", "2026-05-03", "--format", "json",
                 "--output", str(out))
    rows = json.loads(out.read_text())
    # then: exactly those days' messages and audit rows (the fixtures' rows are from other days)
    assert {r["id"] for r in rows if r["record"] == "message"} == {made[2].pk, made[3].pk}
    assert all("2026-05-02" <= r["at"][:10] <= "2026-05-03" for r in rows)
    csv_out = tmp_path / "may.csv"
    call_command("export_history", "--since", "2026-05-01", "--until", "2026-05-01", "--format", "csv",
                 "--output", str(csv_out))
    csv_rows = list(csv.DictReader(csv_out.open()))
    assert [int(r["id"]) for r in csv_rows if r["record"] == "message"] == [made[1].pk]


def test_command_rejects_bad_dates(tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("export_history", "--since", "May", "--until", "2026-05-03", "--output", str(tmp_path / "x"))
    with pytest.raises(CommandError, match="before"):
        call_command("export_history", "--since", "2026-05-03", "--until", "2026-05-01", "--output",
                     str(tmp_path / "x"))
