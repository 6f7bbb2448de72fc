"""Account search and detail: only visible accounts, threads first, consent and search."""
import pytest

from tests.api.conftest import api_client
from tests.factories import AccountFactory, ThreadFactory, UserFactory

pytestmark = pytest.mark.django_db


def names(response):
    return [a["name"] for a in response.json()["results"]]


def test_search_lists_thread_accounts_first_then_by_name(alex, blair, shared_number):
    # given: four accounts visible to Alex; Alex has threads with two of them
    aaron = AccountFactory(name="Dr. Aaron", team=[alex])
    zoe = AccountFactory(name="Dr. Zoe", team=[alex], consent="opted_out")
    mia = AccountFactory(name="Dr. Mia", team=[alex], consent=False)
    bob = AccountFactory(name="Dr. Bob", team=[alex])
    ThreadFactory(user=alex, account=zoe, phone_number=shared_number)
    ThreadFactory(user=alex, account=mia, phone_number=shared_number)
    ThreadFactory(user=blair, account=aaron, phone_number=shared_number)  # Blair's thread does not count
    # when
    response = api_client(alex).get("/api/v1/accounts/")
    # then
    assert response.status_code == 200
    assert names(response) == ["Dr. Mia", "Dr. Zoe", "Dr. Aaron", "Dr. Bob"]
    by_name = {a["name"]: a for a in response.json()["results"]}
    assert by_name["Dr. Zoe"] == {
        "id": zoe.id, "name": "Dr. Zoe", "specialty": "Cardiology", "whatsapp_number": zoe.whatsapp_number,
        "whatsapp_user_id": None, "whatsapp_parent_user_id": "", "whatsapp_username": "",
        "language": "en", "has_thread": True, "consent_status": "opted_out",
    }
    assert by_name["Dr. Mia"]["consent_status"] == "not_captured"
    assert by_name["Dr. Aaron"]["has_thread"] is False
    assert by_name["Dr. Bob"]["consent_status"] == "opted_in"
    assert bob.id in {a["id"] for a in response.json()["results"]}


def test_search_never_shows_invisible_accounts(alex, blair):
    AccountFactory(name="Dr. Mine", team=[alex, blair])
    AccountFactory(name="Dr. Hidden", team=[blair])
    AccountFactory(name="Dr. Nobody")
    assert names(api_client(alex).get("/api/v1/accounts/")) == ["Dr. Mine"]


def test_a_rep_on_no_team_sees_no_accounts(alex, blair):
    # given: accounts exist, none on Alex's team (the list starts from the team: it is empty)
    AccountFactory(name="Dr. Hidden", team=[blair])
    AccountFactory(name="Dr. Nobody")
    client = api_client(alex)
    # then: nothing, with or without a search
    assert names(client.get("/api/v1/accounts/")) == []
    assert names(client.get("/api/v1/accounts/", {"search": "Dr"})) == []
    assert names(client.get("/api/v1/accounts/", {"search": "1999"})) == []


def test_search_by_name_and_by_number_digits(alex):
    AccountFactory(name="Dr. Grace Hopper", whatsapp_number="+12025550101", team=[alex])
    AccountFactory(name="Dr. Alan Turing", whatsapp_number="+447700900002", team=[alex])
    client = api_client(alex)
    assert names(client.get("/api/v1/accounts/", {"search": "grace"})) == ["Dr. Grace Hopper"]
    assert names(client.get("/api/v1/accounts/", {"search": "+44 7700"})) == ["Dr. Alan Turing"]
    assert names(client.get("/api/v1/accounts/", {"search": "2025550"})) == ["Dr. Grace Hopper"]
    assert names(client.get("/api/v1/accounts/", {"search": "nobody"})) == []


def test_search_pages_with_limit_and_offset(alex):
    for i in range(5):
        AccountFactory(name=f"Dr. {i}", team=[alex])
    client = api_client(alex)
    first = client.get("/api/v1/accounts/", {"limit": 2}).json()
    assert [a["name"] for a in first["results"]] == ["Dr. 0", "Dr. 1"]
    assert first["previous"] is None
    second = client.get(first["next"]).json()
    assert [a["name"] for a in second["results"]] == ["Dr. 2", "Dr. 3"]
    last = client.get(second["next"]).json()
    assert [a["name"] for a in last["results"]] == ["Dr. 4"]
    assert last["next"] is None


def test_account_detail_visible_and_invisible(alex, blair):
    mine = AccountFactory(name="Dr. Mine", team=[alex])
    hidden = AccountFactory(name="Dr. Hidden", team=[blair])
    client = api_client(alex)
    response = client.get(f"/api/v1/accounts/{mine.id}/")
    assert response.status_code == 200
    assert response.json()["name"] == "Dr. Mine"
    assert response.json()["has_thread"] is False
    hidden_response = client.get(f"/api/v1/accounts/{hidden.id}/")
    assert hidden_response.status_code == 404
    assert hidden_response.json()["code"] == "not_found"


def test_account_visible_to_several_users_appears_once(alex):
    account = AccountFactory(name="Dr. Shared", team=[alex, UserFactory(), UserFactory()])
    assert [a["id"] for a in api_client(alex).get("/api/v1/accounts/").json()["results"]] == [account.id]
