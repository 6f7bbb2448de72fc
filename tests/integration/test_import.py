"""The admin's CSV/XLSX import takes the CRM's external_id, the country and consent columns with their evidence."""
import csv
import io

import pytest

from chats.models import Account
from consent.models import ConsentEvent, ConsentRecord
from tests.admin.test_account_import import confirm, preview
from tests.factories import AccountFactory, ConsentMethodFactory

pytestmark = pytest.mark.django_db

COLUMNS = ("external_id", "name", "country", "whatsapp_number", "language", "consent_status", "consent_captured_at",
           "consent_source", "consent_method", "consent_wording")


def csv_bytes(rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return out.getvalue().encode()


def test_import_by_external_id_with_consent_evidence(admin_client):
    ConsentMethodFactory(code="written")
    existing = AccountFactory(external_id="VEEVA-2", whatsapp_number="+447700900002", consent=None)
    rows = [("VEEVA-1", "Dr. Ada", "gb", "+44 7700 900001", "en", "opted_in", "2026-01-10T09:00:00Z", "Veeva CRM",
             "written", "I agree to WhatsApp messages."),
            ("VEEVA-2", "Dr. Grace (renamed)", "US", "+447700900002", "en", "", "", "", "", "")]
    confirm(admin_client, preview(admin_client, csv_bytes(rows)))
    ada = Account.objects.get(external_id="VEEVA-1")
    assert (ada.country, ada.whatsapp_number) == ("GB", "+447700900001")
    assert Account.objects.get(pk=existing.pk).name == "Dr. Grace (renamed)"
    event = ConsentEvent.objects.get(account=ada)
    assert (event.via, event.method.code, event.details["source"]) == ("import", "written", "Veeva CRM")
    assert ConsentRecord.objects.get(account=ada).captured_at.isoformat() == "2026-01-10T09:00:00+00:00"
    # the same file again changes nothing
    confirm(admin_client, preview(admin_client, csv_bytes(rows)))
    assert ConsentEvent.objects.count() == 1 and Account.objects.count() == 2


def test_bad_consent_cells_are_row_errors(admin_client):
    rows = [("VEEVA-1", "Dr. Ada", "GB", "+447700900001", "en", "maybe", "", "", "", "")]
    response = preview(admin_client, csv_bytes(rows))
    assert "consent_status" in response.content.decode() and not Account.objects.exists()
