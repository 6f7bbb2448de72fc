"""An HCP account changed in Rapport (the admin's form, its import, an integration's upsert) is an
`account.updated` change in the feed, written with the change, so a CRM syncing both ways hears of it."""
import pytest
from django.db import transaction

from chats.integration.accounts import account_upsert
from chats.models import Account, Change
from tests.factories import AccountFactory, UserFactory
from tests.integration.conftest import make_integration
from tests.integration.test_feed import read_all
from tests.integration.test_import import csv_bytes
from tests.admin.test_account_import import confirm, preview

pytestmark = pytest.mark.django_db


def updates(crm):
    return [c for c in read_all(crm)[0] if c["type"] == "account.updated"]


def admin_form(account, **changes):
    data = {"name": account.name, "external_id": account.external_id or "", "specialty": account.specialty,
            "country": account.country, "language": account.language, "whatsapp_number": account.whatsapp_number or "",
            "whatsapp_user_id": account.whatsapp_user_id or "", "whatsapp_parent_user_id": "", "whatsapp_username": "",
            "team": [user.pk for user in account.team.all()]}
    return data | changes


def test_an_admin_edit_is_an_account_updated_change_with_the_fields_it_changed(admin_client):
    # given: a CRM following the feed, and an HCP it keeps
    _, crm = make_integration("events:read")
    alex, blair = UserFactory(username="alex"), UserFactory(username="blair")
    ada = AccountFactory(external_id="VEEVA-1", specialty="Cardiology", team=[alex], consent=None)
    # when: an admin changes her specialty and team, then saves again without a change
    response = admin_client.post(f"/admin/chats/account/{ada.pk}/change/",
                                 admin_form(ada, specialty="Oncology", team=[alex.pk, blair.pk]))
    assert response.status_code == 302, response.content.decode()[:2000]
    admin_client.post(f"/admin/chats/account/{ada.pk}/change/", admin_form(Account.objects.get(pk=ada.pk)))
    # then: one change, naming the HCP by both ids and the fields with their values now
    [change] = updates(crm)
    assert change["account"] == ada.pk and change["thread"] is None
    assert change["data"] == {"account": ada.pk, "external_id": "VEEVA-1", "action": "changed", "source": "admin",
                              "fields": {"specialty": "Oncology", "team": ["alex", "blair"]}}


def test_an_integration_upsert_and_an_import_are_account_updated_changes(admin_client):
    integration, crm = make_integration("events:read", "accounts:write")
    # when: the CRM pushes Ada, then the same again, then changes her name; an admin imports Grace
    crm.put("/api/v1/integration/accounts/VEEVA-1/", {"name": "Dr. Ada", "whatsapp_number": "+447700900001"},
            format="json")
    crm.put("/api/v1/integration/accounts/VEEVA-1/", {"name": "Dr. Ada", "whatsapp_number": "+447700900001"},
            format="json")
    crm.patch("/api/v1/integration/accounts/VEEVA-1/", {"name": "Dr. Ada Lovelace"}, format="json")
    confirm(admin_client, preview(admin_client, csv_bytes(
        [("VEEVA-2", "Dr. Grace", "US", "+447700900002", "en", "", "", "", "", "")])))
    # then: three changes (the repeat is none), each saying who made it
    changes = [c["data"] for c in updates(crm)]
    ada, grace = Account.objects.get(external_id="VEEVA-1"), Account.objects.get(external_id="VEEVA-2")
    assert [(c["account"], c["action"], c["source"], c.get("integration")) for c in changes] == [
        (ada.pk, "added", "integration", integration.name),
        (ada.pk, "changed", "integration", integration.name),
        (grace.pk, "added", "import", None)]
    assert changes[0]["external_id"] == "VEEVA-1"
    assert changes[0]["fields"] == {"name": "Dr. Ada", "whatsapp_number": "+447700900001"}
    assert changes[1]["fields"] == {"name": "Dr. Ada Lovelace"}
    assert changes[2]["fields"]["whatsapp_number"] == "+447700900002" and changes[2]["fields"]["country"] == "US"


def test_a_rolled_back_account_write_leaves_no_change():
    integration, _ = make_integration("accounts:write")
    with pytest.raises(RuntimeError), transaction.atomic():
        account_upsert(integration=integration, external_id="VEEVA-1",
                       data={"name": "Dr. Ada", "whatsapp_number": "+447700900001"})
        raise RuntimeError("rolled back")
    assert not Change.objects.exists() and not Account.objects.exists()


def test_a_crm_may_follow_account_updates_by_webhook():
    _, crm = make_integration("events:read")
    response = crm.post("/api/v1/integration/webhooks/", {"url": "http://127.0.0.1:9/hook",
                                                           "event_types": ["account.updated"]}, format="json")
    assert response.status_code == 201 and response.json()["event_types"] == ["account.updated"]
