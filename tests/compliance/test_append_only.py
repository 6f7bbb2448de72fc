"""The trail cannot be changed: not through the ORM, the admin, the API, nor (PostgreSQL) raw SQL."""
import pytest
import yaml
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from chats.compliance.append_only import AppendOnlyError
from chats.compliance.audit import audit
from chats.models import AuditEvent
from consent.models import ConsentEvent
from tests.compliance.conftest import consent_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows(two_hcps):
    ada = two_hcps["ada"]
    return {AuditEvent: ada["audits"][0], ConsentEvent: ada["consent_events"][0]}


@pytest.mark.parametrize("model", [AuditEvent, ConsentEvent])
def test_orm_refuses_every_change(rows, model):
    # given: one stored row
    row = rows[model]
    before = model.objects.count()
    # when / then: every way of changing or removing it is refused
    row.details = {"tampered": True}
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        row.delete()
    with pytest.raises(AppendOnlyError):
        model.objects.filter(pk=row.pk).update(details={"tampered": True})
    with pytest.raises(AppendOnlyError):
        model.objects.filter(pk=row.pk).delete()
    with pytest.raises(AppendOnlyError):
        model.objects.bulk_update([row], ["details"])
    with pytest.raises(AppendOnlyError):
        model.objects.all().delete()
    # and the row is untouched
    assert model.objects.count() == before
    assert model.objects.get(pk=row.pk).details != {"tampered": True}


@pytest.mark.parametrize("model", [AuditEvent, ConsentEvent])
def test_admin_refuses_change_and_delete(rows, model, admin_client):
    row = rows[model]
    base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
    before = model.objects.filter(pk=row.pk).values().get()
    # the change page is a read-only view; POSTing to it or to delete is forbidden
    assert admin_client.get(f"{base}{row.pk}/change/").status_code == 200
    assert admin_client.post(f"{base}{row.pk}/change/", {"details": "{}"}).status_code == 403
    assert admin_client.post(f"{base}{row.pk}/delete/", {"post": "yes"}).status_code == 403
    assert admin_client.get(f"{base}add/").status_code == 403
    # no bulk delete action is offered, and posting it anyway deletes nothing
    changelist = admin_client.get(base)
    assert changelist.status_code == 200
    assert b"delete_selected" not in changelist.content
    admin_client.post(base, {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"})
    assert model.objects.filter(pk=row.pk).values().get() == before


def test_no_api_endpoint_writes_the_trail(tmp_path, staff):
    # given: the whole documented API
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--file", str(out))
    schema = yaml.safe_load(out.read_text())
    # then: no path is about audit or consent events, and no component describes their rows
    assert not [p for p in schema["paths"] if "audit" in p or "event" in p]
    assert not [name for name in schema["components"]["schemas"] if "Audit" in name or "ConsentEvent" in name]
    # and writing to where such an endpoint would live finds nothing
    from django.test import Client

    client = Client()
    client.force_login(staff)
    for path in ("/api/v1/audit-events/", "/api/v1/consent-events/", "/api/v1/audit/"):
        assert client.post(path, {}).status_code == 404
        assert client.delete(path).status_code == 404


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's second layer")
@pytest.mark.parametrize("table", ["chats_auditevent", "consent_consentevent"])
@pytest.mark.parametrize("statement", ["UPDATE {table} SET details = '{{}}'", "DELETE FROM {table}"])
def test_postgres_trigger_refuses_raw_sql(rows, table, statement):
    # given: rows in both tables; when: raw SQL bypasses the ORM; then: the database refuses
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement.format(table=table))
    assert AuditEvent.objects.exists() and ConsentEvent.objects.exists()


def test_inserting_still_works(two_hcps):
    # the trail grows: append-only is not read-only
    account = two_hcps["ada"]["account"]
    before = AuditEvent.objects.count()
    audit(kind=AuditEvent.Kind.ADMIN_CHANGE, account=account, note="x")
    consent_event(account, "opted_in", "opted_out")
    assert AuditEvent.objects.count() == before + 1
    assert ConsentEvent.objects.filter(account=account, status="opted_out").count() == 1
