"""Imports leave one admin.change row per row they add, change or delete; none for a no-op or a failed import."""
import csv
import io

import pytest
import tablib
from django.contrib.admin.models import LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError
from django.urls import reverse

from chats.admin.resources import AccountResource
from chats.models import Account, AuditEvent
from templates_app.models import MessageTemplate
from templates_app.resources import COLUMNS, MessageTemplateResource
from tests.factories import AccountFactory, TemplateFactory, UserFactory, WabaFactory

pytestmark = pytest.mark.django_db

WABA_ID = "200000000000001"
ACCOUNT_COLUMNS = ("name", "specialty", "whatsapp_number", "language", "team")
FORMATS = {"csv": "0", "xlsx": "1", "json": "2"}


@pytest.fixture
def waba():
    return WabaFactory(waba_id=WABA_ID, name="Rapport Pharma")


def admin_rows():
    return list(AuditEvent.objects.filter(kind=AuditEvent.Kind.ADMIN_CHANGE).order_by("id"))


def preview(client, model: str, name: str, content: bytes, fmt: str = "csv"):
    """Step 1: upload; the admin answers with the preview (a dry run)."""
    response = client.post(reverse(f"admin:{model}_import"),
                           {"resource": "0", "format": FORMATS[fmt], "import_file": SimpleUploadedFile(name, content)})
    assert response.status_code == 200
    return response


def confirm(client, model: str, response):
    """Step 2: "Confirm import", with the hidden form the preview carries."""
    form = response.context["confirm_form"]
    data = {name: form.initial[name] for name in ("import_file_name", "original_file_name", "format", "resource")}
    return client.post(reverse(f"admin:{model}_process_import"), data)


def import_file(client, model: str, name: str, content: bytes, fmt: str = "csv"):
    done = confirm(client, model, preview(client, model, name, content, fmt))
    assert done.status_code == 302
    return done


def template_csv(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    for values in rows:
        writer.writerow({column: values.get(column, "") for column in COLUMNS})
    return out.getvalue().encode()


def template_row(**overrides) -> dict:
    return {"waba_id": WABA_ID, "name": "intro_meeting_request", "language": "en", "kind": "meta",
            "usage": "start_conversation", "meta_category": "MARKETING", "meta_status": "APPROVED",
            "body": "Hello {{1}}, this is {{2}}.", "bindings": '{"1": "account.name", "2": "rep.full_name"}',
            "display_order": "1", "meta_template_id": ""} | overrides


def account_csv(rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(ACCOUNT_COLUMNS)
    writer.writerows(rows)
    return out.getvalue().encode()


def ref(obj) -> dict:
    return {"id": obj.pk, "repr": str(obj)}


# --- templates ---------------------------------------------------------------------------------------------


def test_import_adds_one_row_per_new_template_and_the_preview_none(admin_client, staff, waba):
    content = template_csv([template_row(), template_row(name="thanks_for_time", kind="text_only", usage="general",
                                                         meta_category="", meta_status="", body="Thanks!",
                                                         bindings="", display_order="")])
    # when: the admin previews the file
    response = preview(admin_client, "templates_app_messagetemplate", "templates.csv", content)
    # then: nothing is written, not even an audit row
    assert admin_rows() == []
    # when: the admin confirms
    assert confirm(admin_client, "templates_app_messagetemplate", response).status_code == 302
    # then: one "added" row per template, by the admin, saying which file and row it came from
    intro, thanks = MessageTemplate.objects.order_by("id")
    rows = admin_rows()
    assert [(r.actor, r.account, r.phone_number) for r in rows] == [(staff, None, None)] * 2
    assert rows[0].details == {
        "action": "added", "model": "templates_app.messagetemplate", "object_id": intro.pk,
        "object_repr": "intro_meeting_request [en]", "source": "import",
        "import": {"file_name": "templates.csv", "format": "csv", "row": 1},
        "fields": {"waba": ref(waba), "name": "intro_meeting_request", "language": "en", "kind": "meta",
                   "usage": "start_conversation", "meta_category": "MARKETING", "meta_status": "APPROVED",
                   "body": "Hello {{1}}, this is {{2}}.", "bindings": {"1": "account.name", "2": "rep.full_name"},
                   "display_order": 1, "meta_template_id": ""},
    }
    assert rows[1].details["object_id"] == thanks.pk and rows[1].details["import"]["row"] == 2
    assert rows[1].details["fields"]["display_order"] == 100  # the stored value: empty cell -> the default
    assert rows[1].details["fields"]["bindings"] == {}


def test_import_change_records_only_the_changed_fields_with_old_values(admin_client, staff, waba):
    # given: two stored templates
    intro = TemplateFactory(waba=waba, name="intro_meeting_request", language="en", display_order=9,
                            usage="start_conversation", body="Hello {{1}}, this is {{2}}.")
    same = TemplateFactory(waba=waba, name="follow_up_visit", language="en", display_order=2, usage="general")
    unchanged = template_row(name="follow_up_visit", usage="general", display_order="2")
    # when: a spreadsheet changes intro's order and body, repeats follow_up_visit as stored, and adds a template
    sheet = tablib.Dataset(headers=list(COLUMNS))
    for values in (template_row(display_order="3", body="Hi {{1}}, {{2}} here."), unchanged,
                   template_row(name="event_invitation", usage="general", display_order="10")):
        sheet.append([values[column] for column in COLUMNS])
    import_file(admin_client, "templates_app_messagetemplate", "march.xlsx", sheet.export("xlsx"), fmt="xlsx")
    # then: one "changed" row (new and old values of what changed) and one "added" row; none for the unchanged one
    invitation = MessageTemplate.objects.get(name="event_invitation")
    changed, added = admin_rows()
    assert changed.actor == staff and changed.details == {
        "action": "changed", "model": "templates_app.messagetemplate", "object_id": intro.pk,
        "object_repr": "intro_meeting_request [en]", "source": "import",
        "import": {"file_name": "march.xlsx", "format": "xlsx", "row": 1},
        "fields": {"body": "Hi {{1}}, {{2}} here.", "display_order": 3},
        "previous": {"body": "Hello {{1}}, this is {{2}}.", "display_order": 9},
    }
    assert (added.details["action"], added.details["object_id"], added.details["import"]["row"]) == (
        "added", invitation.pk, 3)
    assert same.pk not in {r.details["object_id"] for r in admin_rows()}


def test_reimporting_the_same_file_writes_no_row(admin_client, waba):
    # given: a file imported once
    content = template_csv([template_row(), template_row(name="follow_up_visit", display_order="2")])
    import_file(admin_client, "templates_app_messagetemplate", "t.csv", content)
    assert len(admin_rows()) == 2
    # when: the same file is imported again
    import_file(admin_client, "templates_app_messagetemplate", "t.csv", content)
    # then: nothing changed, so nothing is recorded
    assert len(admin_rows()) == 2


def test_a_row_that_fails_at_confirm_rolls_back_the_whole_import_and_its_audit(admin_client, waba):
    # given: a clean file for two WABAs, previewed
    other = WabaFactory(waba_id="200000000000002")
    content = template_csv([template_row(), template_row(waba_id="200000000000002")])
    response = preview(admin_client, "templates_app_messagetemplate", "t.csv", content)
    assert "confirm_form" in response.context
    # when: the second WABA is gone by the time the admin confirms
    other.delete()
    done = confirm(admin_client, "templates_app_messagetemplate", response)
    # then: nothing is imported (not even the good row), no audit row, no admin-log entry, and the admin is told
    assert done.status_code == 302 and done.url == reverse("admin:templates_app_messagetemplate_import")
    assert not MessageTemplate.objects.exists()
    assert admin_rows() == []
    assert not LogEntry.objects.exists()
    page = admin_client.get(done.url).content.decode()
    assert "Nothing was imported" in page and "200000000000002" in page


def test_a_database_error_on_a_later_row_takes_the_earlier_rows_audit_with_it(admin_client, waba, monkeypatch):
    # given: saving the second row fails in the database
    save = MessageTemplateResource.do_instance_save

    def failing_save(self, instance, is_create):
        if instance.name == "follow_up_visit":
            raise IntegrityError("simulated failure")
        return save(self, instance, is_create)

    monkeypatch.setattr(MessageTemplateResource, "do_instance_save", failing_save)
    content = template_csv([template_row(), template_row(name="follow_up_visit")])
    response = preview(admin_client, "templates_app_messagetemplate", "t.csv", content)
    # (the preview already reports it, so a browser gets no confirm button; a direct POST still may confirm)
    assert response.context["result"].has_errors()
    data = {"import_file_name": response.context["form"].cleaned_data["import_file"].tmp_storage_name,
            "original_file_name": "t.csv", "format": FORMATS["csv"], "resource": "0"}
    # when
    done = admin_client.post(reverse("admin:templates_app_messagetemplate_process_import"), data)
    # then: the first row was saved and audited inside the import's transaction, and both went back
    assert done.status_code == 302
    assert not MessageTemplate.objects.exists()
    assert admin_rows() == []


class DeletingTemplateResource(MessageTemplateResource):
    """The shipped resources never delete; a resource that does (a `delete` column) is audited the same way."""

    def for_delete(self, row, instance):
        return row.get("delete") == "1"


def test_an_import_that_deletes_records_each_deletion(staff, waba):
    # given: two templates
    gone = TemplateFactory(waba=waba, name="launch_teaser", language="en")
    kept = TemplateFactory(waba=waba, name="follow_up_visit", language="en")
    dataset = tablib.Dataset(headers=["waba_id", "name", "language", "delete"])
    dataset.append([WABA_ID, "launch_teaser", "en", "1"])
    dataset.append([WABA_ID, "follow_up_visit", "en", ""])
    # when: a file deletes one of them
    result = DeletingTemplateResource().import_data(dataset, user=staff, file_name="cleanup.csv", file_format="csv")
    # then: one "deleted" row naming it, and no row for the one left unchanged
    assert not result.has_errors() and not result.has_validation_errors()
    assert list(MessageTemplate.objects.all()) == [kept]
    [row] = admin_rows()
    assert (row.actor, row.account, row.phone_number) == (staff, None, None)
    assert row.details == {"action": "deleted", "model": "templates_app.messagetemplate", "object_id": gone.pk,
                           "object_repr": "launch_teaser [en]", "source": "import",
                           "import": {"file_name": "cleanup.csv", "format": "csv", "row": 1}}


def test_resource_used_outside_the_admin_has_no_actor_and_no_file(waba):
    dataset = tablib.Dataset(headers=list(COLUMNS))
    dataset.append([template_row()[column] for column in COLUMNS])
    MessageTemplateResource().import_data(dataset)
    [row] = admin_rows()
    assert row.actor is None and row.details["import"] == {"file_name": "", "format": "", "row": 1}


# --- accounts (HCP records: audited too, and linked to the HCP) ---------------------------------------------


@pytest.fixture
def reps():
    return [UserFactory(username=name) for name in ("rep.alex", "rep.blair")]


def test_account_import_rows_name_the_hcp_and_the_team(admin_client, staff, reps):
    alex, blair = reps
    # given: Ada is stored, with Alex on her team
    ada = AccountFactory(name="Dr. Ada Lovelace", whatsapp_number="+447700900001", specialty="Cardiology",
                         team=[alex])
    # when: a file moves Ada to Oncology with Alex and Blair, and adds Grace
    content = account_csv([("Dr. Ada Lovelace", "Oncology", "+44 7700 900001", "en", "rep.blair,rep.alex"),
                           ("Dr. Grace Hopper", "", "+12025550101", "", "rep.blair")])
    import_file(admin_client, "chats_account", "hcps.csv", content)
    # then: a "changed" row on Ada and an "added" row on Grace, each linked to the HCP
    grace = Account.objects.get(name="Dr. Grace Hopper")
    changed, added = admin_rows()
    assert (changed.actor, changed.account, added.account) == (staff, ada, grace)
    assert changed.details == {
        "action": "changed", "model": "chats.account", "object_id": ada.pk, "object_repr": "Dr. Ada Lovelace",
        "source": "import", "import": {"file_name": "hcps.csv", "format": "csv", "row": 1},
        "fields": {"specialty": "Oncology", "team": [ref(alex), ref(blair)]},
        "previous": {"specialty": "Cardiology", "team": [ref(alex)]},
    }
    assert added.details["fields"] == {"name": "Dr. Grace Hopper", "specialty": "", "whatsapp_number": "+12025550101",
                                       "language": "en", "team": [ref(blair)]}
    # and the same file again records nothing
    import_file(admin_client, "chats_account", "hcps.csv", content)
    assert len(admin_rows()) == 2


def test_account_import_with_a_failing_row_is_rolled_back_without_audit(admin_client, reps):
    # given: a clean file, previewed
    content = account_csv([("Dr. One", "", "+447700900011", "en", "rep.alex"),
                           ("Dr. Two", "", "+447700900012", "en", "rep.blair")])
    response = preview(admin_client, "chats_account", "hcps.csv", content)
    # when: Blair's user is removed before the admin confirms
    reps[1].delete()
    confirm(admin_client, "chats_account", response)
    # then
    assert not Account.objects.exists() and admin_rows() == []


class DeletingAccountResource(AccountResource):
    def for_delete(self, row, instance):
        return row.get("delete") == "1"


def test_a_deleted_hcp_is_named_in_the_details_only(staff):
    # given: an HCP without history (no consent record), so it can be deleted
    noether = AccountFactory(name="Dr. Emmy Noether", whatsapp_number="+447700900123", consent="none")
    dataset = tablib.Dataset(headers=["whatsapp_number", "delete"])
    dataset.append(["+447700900123", "1"])
    # when
    DeletingAccountResource().import_data(dataset, user=staff, file_name="gone.csv")
    # then: the row does not point at the deleted HCP (a foreign key would forbid the delete)
    assert not Account.objects.exists()
    [row] = admin_rows()
    assert row.account is None
    assert row.details == {"action": "deleted", "model": "chats.account", "object_id": noether.pk,
                           "object_repr": "Dr. Emmy Noether", "source": "import",
                           "import": {"file_name": "gone.csv", "format": "", "row": 1}}


def test_account_edit_in_admin_is_audited_like_other_admin_changes(admin_client, staff, reps):
    alex, blair = reps
    ada = AccountFactory(name="Dr. Ada Lovelace", whatsapp_number="+447700900001", specialty="Cardiology",
                         team=[alex])
    data = {"name": "Dr. Ada Lovelace", "specialty": "Cardiology", "whatsapp_number": "+44 7700 900001",
            "language": "en", "team": [alex.pk, blair.pk]}
    response = admin_client.post(f"/admin/chats/account/{ada.pk}/change/", data)
    assert response.status_code == 302, response.content[:2000]
    [row] = admin_rows()
    assert (row.actor, row.account) == (staff, ada)
    assert row.details == {"action": "changed", "model": "chats.account", "object_id": ada.pk,
                           "object_repr": "Dr. Ada Lovelace", "source": "admin",
                           "fields": {"team": [ref(alex), ref(blair)]}, "secrets": [], "inlines": []}
