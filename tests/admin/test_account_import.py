"""HCP accounts as data: numbers normalised to E.164, bad ones reported on their row and column."""
import csv
import io
from pathlib import Path

import pytest
import tablib
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from chats.models import Account
from tests.factories import AccountFactory, UserFactory

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"
COLUMNS = ("external_id", "name", "specialty", "country", "whatsapp_number", "whatsapp_user_id",
           "whatsapp_parent_user_id", "whatsapp_username", "language", "team")
# The columns files had before WhatsApp user ids: such files still import as they did.
CLASSIC_COLUMNS = ("name", "specialty", "whatsapp_number", "language", "team")


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def reps():
    return [UserFactory(username=name) for name in ("rep.alex", "rep.blair", "rep.casey", "rep.drew")]


def url(view):
    return reverse(f"admin:chats_account_{view}")


def csv_bytes(rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CLASSIC_COLUMNS)
    writer.writerows(rows)
    return out.getvalue().encode()


def preview(client, content: bytes, *, fmt: str = "0", name: str = "accounts.csv"):
    response = client.post(
        url("import"), {"resource": "0", "format": fmt, "import_file": SimpleUploadedFile(name, content)}
    )
    assert response.status_code == 200
    return response


def confirm(client, response):
    form = response.context["confirm_form"]
    data = {name: form.initial[name] for name in ("import_file_name", "original_file_name", "format", "resource")}
    assert client.post(url("process_import"), data).status_code == 302


def test_the_sample_file_imports_with_numbers_normalised(admin_client, reps):
    # when: the sample is previewed and confirmed
    response = preview(admin_client, (SAMPLES / "accounts.csv").read_bytes())
    assert response.context["result"].totals["new"] == 4
    confirm(admin_client, response)
    # then: every number is stored as E.164 and the teams are set
    numbers = dict(Account.objects.values_list("name", "whatsapp_number"))
    assert numbers == {
        "Dr. Ada Lovelace": "+447700900001",
        "Dr. Grace Hopper": "+12025550101",
        "Dr. Marie Curie": "+33612345678",
        "Dr. Emmy Noether": "+447700900123",
    }
    curie = Account.objects.get(name="Dr. Marie Curie")
    assert curie.language == "fr"
    assert sorted(curie.team.values_list("username", flat=True)) == ["rep.alex", "rep.blair", "rep.casey", "rep.drew"]
    assert not Account.objects.get(name="Dr. Emmy Noether").team.exists()


def test_bad_phone_numbers_are_reported_and_good_ones_normalised(admin_client):
    # given: good numbers in several writings and two bad ones
    content = csv_bytes([
        ("Dr. Good", "Cardiology", "+44 7700 900123", "en", ""),
        ("Dr. Short", "Cardiology", "12", "en", ""),
        ("Dr. Words", "Cardiology", "call me", "en", ""),
        ("Dr. Empty", "Cardiology", "", "en", ""),
    ])
    # when
    response = preview(admin_client, content)
    # then: each bad row names the whatsapp_number column; nothing is created
    result = response.context["result"]
    assert result.has_validation_errors() and not result.has_errors()
    assert "confirm_form" not in response.context
    errors = {row.number: row.field_specific_errors for row in result.invalid_rows}
    assert set(errors) == {2, 3, 4}
    assert all(list(field_errors) == ["whatsapp_number"] for field_errors in errors.values())
    assert "12" in errors[2]["whatsapp_number"][0]
    assert "call me" in errors[3]["whatsapp_number"][0]
    assert Account.objects.count() == 0
    # when: the bad rows are fixed and the file is imported
    fixed = csv_bytes([("Dr. Good", "Cardiology", "+44 7700 900123", "en", "")])
    confirm(admin_client, preview(admin_client, fixed))
    # then: the number is stored normalised
    assert Account.objects.get().whatsapp_number == "+447700900123"


def test_identity_is_the_normalised_number_and_reimport_changes_nothing(admin_client, reps):
    # given: an HCP stored with the E.164 number
    existing = AccountFactory(name="Dr. Ada Lovelace", whatsapp_number="+447700900001", specialty="Cardiology",
                              team=reps)
    stamp = existing.updated_at
    # when: a file writes the same HCP's number differently, with the same data
    content = csv_bytes([("Dr. Ada Lovelace", "Cardiology", "44 7700 900001", "en",
                          "rep.drew, rep.casey,rep.blair,rep.alex")])
    response = preview(admin_client, content)
    # then: it is the same account, unchanged
    assert response.context["result"].totals["skip"] == 1
    confirm(admin_client, response)
    existing.refresh_from_db()
    assert existing.updated_at == stamp and Account.objects.count() == 1
    # when: the specialty changes
    confirm(admin_client, preview(admin_client, csv_bytes([("Dr. Ada Lovelace", "Oncology", "+447700900001", "en",
                                                            "rep.alex")])))
    existing.refresh_from_db()
    assert existing.specialty == "Oncology"
    assert list(existing.team.values_list("username", flat=True)) == ["rep.alex"]


def test_unknown_usernames_bad_language_and_duplicates_are_row_errors(admin_client, reps):
    content = csv_bytes([
        ("Dr. One", "", "+447700900011", "en", "rep.alex,rep.nobody"),
        ("Dr. Two", "", "+447700900012", "klingon", ""),
        ("Dr. Three", "", "+447700900013", "en", ""),
        ("Dr. Three again", "", "+44 7700 900013", "en", ""),
    ])
    response = preview(admin_client, content)
    errors = {row.number: row.field_specific_errors for row in response.context["result"].invalid_rows}
    assert list(errors[1]) == ["team"] and "rep.nobody" in errors[1]["team"][0]
    assert list(errors[2]) == ["language"]
    assert list(errors[4]) == ["whatsapp_number"] and "row 3" in errors[4]["whatsapp_number"][0]
    assert 3 not in errors
    assert Account.objects.count() == 0


def test_accounts_export_and_reimport_unchanged(admin_client, reps):
    AccountFactory(name="Dr. Grace Hopper", whatsapp_number="+12025550101", team=reps[:2])
    form = admin_client.get(url("export")).context["form"]
    data = {"format": "0", "resource": "0"}
    data.update({name: "on" for name, field in form.fields.items() if getattr(field, "is_selectable_field", False)})
    response = admin_client.post(url("export"), data)
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert tuple(rows[0]) == COLUMNS
    assert rows[0]["whatsapp_number"] == "+12025550101" and rows[0]["team"] == "rep.alex,rep.blair"
    again = preview(admin_client, response.content)
    assert again.context["result"].totals["skip"] == 1


def test_an_xlsx_file_with_numbers_as_number_cells_imports(admin_client):
    # given: a spreadsheet where Excel stored the phone number as a number
    sheet = tablib.Dataset(headers=list(CLASSIC_COLUMNS))
    sheet.append(["Dr. Sheet", "Neurology", 447700900321, "en", None])
    # when
    response = preview(admin_client, sheet.export("xlsx"), fmt="1", name="accounts.xlsx")
    confirm(admin_client, response)
    # then
    assert Account.objects.get(name="Dr. Sheet").whatsapp_number == "+447700900321"
