"""Accounts pushed by external id: upsert idempotency, PATCH, adoption and conflicts, bulk with per-row
results, and consent imported with its evidence (a later HCP STOP still wins)."""
import pytest

from chats.models import Account, AuditEvent
from consent.models import ConsentEvent, ConsentRecord
from tests.factories import AccountFactory, ConsentMethodFactory, ConsentTypeFactory, PhoneNumberFactory, UserFactory
from tests.whatsapp.conftest import post_webhook, text_body

pytestmark = pytest.mark.django_db

ADA = {"name": "Dr. Ada Lovelace", "whatsapp_number": "+44 7700 900001", "language": "en", "country": "gb",
       "specialty": "Cardiology"}


def test_put_creates_then_the_same_put_changes_nothing(crm):
    integration, client = crm
    rep = UserFactory(username="rep.alex")
    # when: the CRM pushes Ada twice
    first = client.put("/api/v1/integration/accounts/VEEVA-1/", ADA | {"team": ["rep.alex"]}, format="json")
    second = client.put("/api/v1/integration/accounts/VEEVA-1/", ADA | {"team": ["rep.alex"]}, format="json")
    # then: one account, created once, one audit row
    assert first.status_code == 201 and second.status_code == 200, (first.json(), second.json())
    account = Account.objects.get(external_id="VEEVA-1")
    assert (account.whatsapp_number, account.country, account.name) == ("+447700900001", "GB", "Dr. Ada Lovelace")
    assert list(account.team.all()) == [rep]
    assert first.json()["id"] == second.json()["id"] == account.pk
    assert second.json()["external_id"] == "VEEVA-1" and second.json()["team"] == ["rep.alex"]
    assert AuditEvent.objects.filter(account=account, details__source="integration").count() == 1


def test_put_changes_only_the_fields_given_and_audits_them(crm):
    _, client = crm
    client.put("/api/v1/integration/accounts/VEEVA-1/", ADA, format="json")
    response = client.put("/api/v1/integration/accounts/VEEVA-1/", {"specialty": "Oncology"}, format="json")
    assert response.status_code == 200 and response.json()["specialty"] == "Oncology"
    assert response.json()["name"] == "Dr. Ada Lovelace"
    change = AuditEvent.objects.filter(details__action="changed").get()
    assert change.details["fields"] == {"specialty": "Oncology"} and change.details["previous"] == {"specialty": "Cardiology"}


def test_patch_needs_an_existing_external_id(crm):
    _, client = crm
    assert client.patch("/api/v1/integration/accounts/NOPE/", {"name": "X"}, format="json").status_code == 404
    client.put("/api/v1/integration/accounts/VEEVA-1/", ADA, format="json")
    response = client.patch("/api/v1/integration/accounts/VEEVA-1/", {"language": "fr"}, format="json")
    assert response.status_code == 200 and response.json()["language"] == "fr"


def test_an_hcp_rapport_kept_without_external_id_is_adopted_not_doubled(crm):
    _, client = crm
    existing = AccountFactory(whatsapp_number="+447700900001", name="Ada L.")
    response = client.put("/api/v1/integration/accounts/VEEVA-1/", ADA, format="json")
    assert response.status_code == 200 and response.json()["id"] == existing.pk
    assert Account.objects.get(pk=existing.pk).external_id == "VEEVA-1" and Account.objects.count() == 1


def test_a_number_another_crm_hcp_holds_is_409_conflict(crm):
    _, client = crm
    client.put("/api/v1/integration/accounts/VEEVA-1/", ADA, format="json")
    response = client.put("/api/v1/integration/accounts/VEEVA-2/", ADA | {"name": "Someone else"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "conflict"
    assert response.json()["field"] == "whatsapp_number" and not Account.objects.filter(external_id="VEEVA-2").exists()


@pytest.mark.parametrize("body,field", [
    ({"name": "No address"}, "__all__"),
    (ADA | {"whatsapp_number": "not a number"}, "whatsapp_number"),
    (ADA | {"language": "klingon!"}, "language"),
    (ADA | {"team": ["nobody"]}, "team"),
    (ADA | {"country": "GBR"}, "country"),
    (ADA | {"name": 5}, "name"),
], ids=["no-address", "bad-number", "bad-language", "unknown-rep", "bad-country", "name-not-text"])
def test_bad_fields_are_400_naming_the_field(crm, body, field):
    _, client = crm
    response = client.put("/api/v1/integration/accounts/VEEVA-1/", body, format="json")
    assert response.status_code == 400 and response.json()["code"] == "invalid", response.json()
    assert field in response.json()["errors"], response.json()
    assert not Account.objects.exists()


def test_bulk_reports_each_row_and_a_bad_row_holds_back_no_other(crm):
    _, client = crm
    AccountFactory(whatsapp_number="+447700900099", external_id="OTHER")
    rows = [
        {"external_id": "B-1", "name": "Dr. One", "whatsapp_number": "+447700900011"},
        {"external_id": "B-2", "name": "Dr. Two"},  # no WhatsApp address
        {"external_id": "B-3", "name": "Dr. Three", "whatsapp_number": "+447700900099"},  # OTHER's number
        {"name": "No id", "whatsapp_number": "+447700900012"},
        {"external_id": "B-1", "name": "Dr. One", "whatsapp_number": "+447700900011"},  # the same again
        {"external_id": "B-5", "name": "Dr. Five", "whatsapp_user_id": "US.13491208655302741918"},
    ]
    response = client.post("/api/v1/integration/accounts/bulk/", {"accounts": rows}, format="json")
    assert response.status_code == 200, response.json()
    results = response.json()["results"]
    assert [(r["external_id"], r["status"], r.get("code")) for r in results] == [
        ("B-1", "created", None), ("B-2", "error", "invalid"), ("B-3", "error", "conflict"),
        (None, "error", "invalid"), ("B-1", "unchanged", None), ("B-5", "created", None)]
    assert "external_id" in results[3]["errors"]
    assert set(Account.objects.exclude(external_id="OTHER").values_list("external_id", flat=True)) == {"B-1", "B-5"}


def test_bulk_takes_at_most_1000(crm):
    _, client = crm
    rows = [{"external_id": f"X-{n}", "name": "Dr. X"} for n in range(1001)]
    response = client.post("/api/v1/integration/accounts/bulk/", {"accounts": rows}, format="json")
    assert response.status_code == 400 and "accounts" in response.json()["errors"]


CONSENT = {"status": "opted_in", "captured_at": "2026-01-10T09:00:00Z", "source": "Veeva CRM", "method": "written",
           "wording": "I agree to receive WhatsApp messages from my representative."}


def test_consent_is_imported_with_its_evidence_once(crm):
    integration, client = crm
    ConsentTypeFactory()
    ConsentMethodFactory(code="written")
    body = ADA | {"consent": CONSENT}
    first = client.put("/api/v1/integration/accounts/VEEVA-1/", body, format="json")
    again = client.put("/api/v1/integration/accounts/VEEVA-1/", body, format="json")
    assert first.json()["consent_status"] == "opted_in" and first.json()["consent_import"] == "changed"
    assert again.json()["consent_import"] == "unchanged"
    event = ConsentEvent.objects.get()
    assert (event.via, event.actor, event.method.code) == ("api", integration.user, "written")
    assert event.details["source"] == "Veeva CRM" and event.details["wording"] == CONSENT["wording"]
    assert event.details["captured_at"] == "2026-01-10T09:00:00+00:00"
    record = ConsentRecord.objects.get()
    assert record.captured_at.isoformat() == "2026-01-10T09:00:00+00:00" and record.captured_by == integration.user


def test_consent_older_than_rapports_record_is_kept_but_changes_nothing(crm):
    _, client = crm
    ConsentMethodFactory(code="written")
    client.put("/api/v1/integration/accounts/VEEVA-1/", ADA | {"consent": CONSENT | {"status": "opted_out"}},
               format="json")
    older = CONSENT | {"captured_at": "2025-06-01T09:00:00Z"}
    response = client.put("/api/v1/integration/accounts/VEEVA-1/", {"consent": older}, format="json")
    assert response.json()["consent_import"] == "superseded" and response.json()["consent_status"] == "opted_out"
    assert ConsentEvent.objects.filter(details__superseded=True).count() == 1


def test_a_later_hcp_stop_still_wins_and_an_import_cannot_undo_it(crm, client):
    _, crm_client = crm
    ConsentTypeFactory()
    ConsentMethodFactory(code="written")
    rep = UserFactory()
    number = PhoneNumberFactory(reps=[rep])
    crm_client.put("/api/v1/integration/accounts/VEEVA-1/", ADA | {"team": [rep.username], "consent": CONSENT},
                   format="json")
    account = Account.objects.get(external_id="VEEVA-1")
    # when: the HCP sends STOP after the CRM's consent
    post_webhook(client, text_body(number=number, account=account, text="STOP", wamid="wamid.STOP1",
                                   ts=1_790_000_000))
    assert ConsentRecord.objects.get(account=account).status == "opted_out"
    # then: importing consent again (even captured after the STOP) is refused
    newer = CONSENT | {"captured_at": "2026-11-01T09:00:00Z"}
    response = crm_client.put("/api/v1/integration/accounts/VEEVA-1/", {"consent": newer}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "opted_out_by_hcp"
    assert ConsentRecord.objects.get(account=account).status == "opted_out"


def test_consent_import_checks_its_evidence(crm):
    _, client = crm
    bad = CONSENT | {"method": "carrier-pigeon", "captured_at": "2999-01-01T00:00:00Z"}
    del bad["source"]
    response = client.put("/api/v1/integration/accounts/VEEVA-1/", ADA | {"consent": bad}, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]["consent"]) == {"method", "captured_at", "source"}


def test_accounts_list_with_updated_since(crm):
    _, client = crm
    client.put("/api/v1/integration/accounts/VEEVA-1/", ADA, format="json")
    since = Account.objects.get().updated_at
    response = client.get("/api/v1/integration/accounts/", {"updated_since": since.isoformat()})
    assert [a["external_id"] for a in response.json()["results"]] == ["VEEVA-1"]
    later = (since.replace(year=since.year + 1)).isoformat()
    assert client.get("/api/v1/integration/accounts/", {"updated_since": later}).json()["results"] == []
    bad = client.get("/api/v1/integration/accounts/", {"updated_since": "yesterday"})
    assert bad.status_code == 400 and "updated_since" in bad.json()["errors"]
