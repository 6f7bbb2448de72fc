"""Templates as data, through the admin's import and export views as a browser uses them."""
import csv
import io
import json
from pathlib import Path

import pytest
import tablib
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from templates_app.models import MessageTemplate
from templates_app.resources import COLUMNS
from tests.factories import TemplateFactory, WabaFactory

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"
FORMATS = {"csv": "0", "xlsx": "1", "json": "2"}
WABA_ID = "200000000000001"


@pytest.fixture(autouse=True)
def waba():
    return WabaFactory(waba_id=WABA_ID, name="Rapport Pharma")


def url(view):
    return reverse(f"admin:templates_app_messagetemplate_{view}")


def preview(client, name: str, content: bytes, fmt: str):
    """Step 1: upload the file; the admin answers with the preview (or the errors)."""
    upload = SimpleUploadedFile(name, content)
    response = client.post(url("import"), {"resource": "0", "format": FORMATS[fmt], "import_file": upload})
    assert response.status_code == 200
    return response


def confirm(client, response):
    """Step 2: press "Confirm import": the hidden form the preview carries."""
    form = response.context["confirm_form"]
    data = {name: form.initial[name] for name in ("import_file_name", "original_file_name", "format", "resource")}
    done = client.post(url("process_import"), data)
    assert done.status_code == 302
    return done


def csv_bytes(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    for row in rows:
        writer.writerow({column: row.get(column, "") for column in COLUMNS})
    return out.getvalue().encode()


def row(**overrides) -> dict:
    base = {
        "waba_id": WABA_ID, "name": "intro_meeting_request", "language": "en", "kind": "meta",
        "usage": "start_conversation", "meta_category": "MARKETING", "meta_status": "APPROVED",
        "body": "Hello {{1}}, this is {{2}}.", "bindings": '{"1": "account.name", "2": "rep.full_name"}',
        "display_order": "1", "meta_template_id": "",
    }
    base.update(overrides)
    return base


def errors_by_row(response) -> dict[int, dict[str, list[str]]]:
    result = response.context["result"]
    return {invalid.number: invalid.field_specific_errors for invalid in result.invalid_rows}


def test_a_good_csv_previews_then_creates_the_rows(admin_client):
    # given: the sample file admins are pointed to
    content = (SAMPLES / "templates.csv").read_bytes()
    # when: it is uploaded
    response = preview(admin_client, "templates.csv", content, "csv")
    # then: the preview lists five new rows and nothing is written yet
    result = response.context["result"]
    assert not result.has_errors() and not result.has_validation_errors()
    assert result.totals["new"] == 5
    assert MessageTemplate.objects.count() == 0
    # when: the admin confirms
    confirm(admin_client, response)
    # then: the rows exist with their bindings parsed
    assert MessageTemplate.objects.count() == 5
    intro_fr = MessageTemplate.objects.get(name="intro_meeting_request", language="fr")
    assert intro_fr.bindings == {"1": "account.name", "2": "rep.full_name"}
    assert (intro_fr.usage, intro_fr.meta_status, intro_fr.display_order) == ("start_conversation", "APPROVED", 1)
    teaser = MessageTemplate.objects.get(name="launch_teaser")
    assert teaser.bindings == {} and teaser.meta_status == "PENDING"
    assert MessageTemplate.objects.get(name="thanks_for_time").kind == "text_only"


def test_a_second_import_of_the_same_file_changes_nothing(admin_client):
    # given: the file was imported once
    content = (SAMPLES / "templates.csv").read_bytes()
    confirm(admin_client, preview(admin_client, "templates.csv", content, "csv"))
    before = {t.pk: (t.updated_at, t.body, t.bindings) for t in MessageTemplate.objects.all()}
    # when: the same file is imported again
    response = preview(admin_client, "templates.csv", content, "csv")
    # then: every row is reported as skipped (unchanged), and confirming writes nothing
    result = response.context["result"]
    assert result.totals["skip"] == 5 and result.totals["new"] == 0 and result.totals["update"] == 0
    confirm(admin_client, response)
    after = {t.pk: (t.updated_at, t.body, t.bindings) for t in MessageTemplate.objects.all()}
    assert after == before


def test_a_changed_row_updates_the_existing_template(admin_client):
    existing = TemplateFactory(waba__waba_id=WABA_ID, name="intro_meeting_request", language="en", display_order=9)
    response = preview(admin_client, "t.csv", csv_bytes([row(display_order="3")]), "csv")
    assert response.context["result"].totals["update"] == 1
    confirm(admin_client, response)
    existing.refresh_from_db()
    assert existing.display_order == 3 and MessageTemplate.objects.count() == 1


def test_an_xlsx_file_imports(admin_client):
    # given: a spreadsheet where ids and orders are numbers, as Excel stores them
    book = tablib.Dataset(headers=list(COLUMNS))
    book.append([int(WABA_ID), "event_invitation", "en", "meta", "general", "MARKETING", "APPROVED",
                 "Dear {{1}}, you are invited.", '{"1": "account.name"}', 4, 1234567890])
    content = book.export("xlsx")
    # when
    confirm(admin_client, preview(admin_client, "templates.xlsx", content, "xlsx"))
    # then
    template = MessageTemplate.objects.get(name="event_invitation")
    assert (template.waba.waba_id, template.display_order, template.meta_template_id) == (WABA_ID, 4, "1234567890")
    assert template.bindings == {"1": "account.name"}


def test_a_json_file_imports_with_bindings_as_text_or_object(admin_client):
    content = (SAMPLES / "templates.json").read_bytes()
    response = preview(admin_client, "templates.json", content, "json")
    assert response.context["result"].totals["new"] == 3
    confirm(admin_client, response)
    consent = MessageTemplate.objects.get(name="consent_confirmation")
    assert consent.bindings["2"] == "consent.subscribe_keyword"
    assert MessageTemplate.objects.get(name="follow_up_visit").bindings == {"1": "account.name", "2": "rep.full_name"}
    # and again: nothing changes
    again = preview(admin_client, "templates.json", content, "json")
    assert again.context["result"].totals["skip"] == 3


def test_bad_rows_are_reported_by_row_and_field_and_nothing_is_created(admin_client):
    # given: one good row and one bad row per kind of mistake
    rows = [
        row(name="good_one"),                                              # 1
        row(name="unknown_waba", waba_id="999999999999999"),               # 2
        row(name="bad_language", language="english"),                      # 3
        row(name="missing_binding", bindings='{"1": "account.name"}'),     # 4
        row(name="good_one"),                                              # 5 duplicate of row 1
        row(name="bad_json", bindings='{"1": "account.name",'),            # 6
        row(name="bad_usage", usage="launch"),                             # 7
        row(name="bad_status", meta_status="OK"),                          # 8
        row(name="bad_kind", kind="whatsapp"),                             # 9
        row(name="unknown_field", bindings='{"1": "account.name", "2": "rep.salary"}'),  # 10
        row(name="bad_order", display_order="first"),                      # 11
    ]
    # when
    response = preview(admin_client, "bad.csv", csv_bytes(rows), "csv")
    # then: the preview shows a validation error table, offers no confirmation, and no 500
    result = response.context["result"]
    assert result.has_validation_errors() and not result.has_errors()
    assert "confirm_form" not in response.context
    errors = errors_by_row(response)
    assert set(errors) == {2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
    assert list(errors[2]) == ["waba_id"] and "999999999999999" in errors[2]["waba_id"][0]
    assert list(errors[3]) == ["language"] and "english" in errors[3]["language"][0]
    assert list(errors[4]) == ["bindings"] and "{{2}}" in errors[4]["bindings"][0]
    assert list(errors[5]) == ["name"] and "row 1" in errors[5]["name"][0]
    assert list(errors[6]) == ["bindings"] and "Not valid JSON" in errors[6]["bindings"][0]
    assert list(errors[7]) == ["usage"] and "launch" in errors[7]["usage"][0]
    assert "start_conversation" in errors[7]["usage"][0]  # the valid values are listed
    assert list(errors[8]) == ["meta_status"]
    assert list(errors[9]) == ["kind"]
    assert list(errors[10]) == ["bindings"] and "rep.salary" in errors[10]["bindings"][0]
    assert list(errors[11]) == ["display_order"]
    page = response.content.decode()
    assert "waba_id" in page and "999999999999999" in page
    assert MessageTemplate.objects.count() == 0


def test_the_same_name_and_language_on_two_wabas_is_not_a_duplicate(admin_client):
    WabaFactory(waba_id="200000000000002")
    rows = [row(), row(waba_id="200000000000002")]
    response = preview(admin_client, "two.csv", csv_bytes(rows), "csv")
    assert not response.context["result"].has_validation_errors()
    confirm(admin_client, response)
    assert MessageTemplate.objects.filter(name="intro_meeting_request").count() == 2


def test_a_file_without_the_identity_columns_is_an_error_not_a_500(admin_client):
    response = preview(admin_client, "x.csv", b"title,text\nhello,world\n", "csv")
    assert response.context["result"].has_errors()
    page = response.content.decode()
    assert "not present in the file headers: waba_id, name, language" in page
    assert "Traceback" not in page and "confirm_form" not in response.context
    assert MessageTemplate.objects.count() == 0


def test_export_gives_back_the_columns(admin_client):
    # given: a template
    TemplateFactory(waba__waba_id=WABA_ID, name="follow_up_visit", bindings={"1": "account.name", "2": "rep.full_name"})
    # when: the admin exports as CSV with every column selected (the form's defaults)
    form = admin_client.get(url("export")).context["form"]
    data = {"format": FORMATS["csv"], "resource": "0"}
    data.update({name: "on" for name, field in form.fields.items() if getattr(field, "is_selectable_field", False)})
    response = admin_client.post(url("export"), data)
    # then: the file has the import columns and round-trips the values
    assert response.status_code == 200
    exported = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert tuple(exported[0].keys()) == ("waba_id", "name", "display_name", *COLUMNS[2:])
    assert exported[0]["waba_id"] == WABA_ID and exported[0]["name"] == "follow_up_visit"
    assert json.loads(exported[0]["bindings"]) == {"1": "account.name", "2": "rep.full_name"}
    # and importing the export back changes nothing
    again = preview(admin_client, "export.csv", response.content, "csv")
    assert again.context["result"].totals["skip"] == 1


def test_the_import_page_names_the_expected_columns(admin_client):
    page = admin_client.get(url("import"))
    assert page.status_code == 200
    assert "waba_id, name, display_name, language, kind, usage, meta_category, meta_status, body, bindings" \
        in page.content.decode()
