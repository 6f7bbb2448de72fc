"""Token auth, /me, and the error contract: 401, 403 license_required, 404, 400 invalid."""
import pytest
from chats.inbox.access import token_for_key

from tests.api.conftest import api_client
from tests.factories import AccountFactory, PhoneNumberFactory, ThreadFactory

pytestmark = pytest.mark.django_db

CHAT_ENDPOINTS = [
    ("get", "/api/v1/accounts/"),
    ("get", "/api/v1/accounts/{account}/"),
    ("get", "/api/v1/threads/"),
    ("post", "/api/v1/threads/"),
    ("get", "/api/v1/threads/{thread}/"),
    ("post", "/api/v1/threads/{thread}/read/"),
    ("get", "/api/v1/threads/{thread}/messages/"),
    ("get", "/api/v1/templates/?thread={thread}"),
    ("get", "/api/v1/media/"),
    ("post", "/api/v1/restricted-phrases/check/"),
]


def test_token_for_good_credentials(alex):
    # when: the rep exchanges username and password
    response = api_client().post("/api/v1/auth/token/", {"username": "rep.alex", "password": "rapport-demo"}, format="json")
    # then: the token is Alex's and works on the API
    assert response.status_code == 200
    key = response.json()["token"]
    assert token_for_key(key=key).user == alex and response.json()["expiry"]
    # each sign-in is a token of its own (a device, a client), each revocable alone
    again = api_client().post("/api/v1/auth/token/", {"username": "rep.alex", "password": "rapport-demo"}, format="json")
    assert again.json()["token"] != key and token_for_key(key=again.json()["token"]).user == alex


def test_token_for_wrong_password_is_invalid_credentials(alex):
    response = api_client().post("/api/v1/auth/token/", {"username": "rep.alex", "password": "nope"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"code": "invalid_credentials", "detail": "Unable to log in with these credentials."}


def test_token_without_fields_is_invalid_with_field_errors():
    response = api_client().post("/api/v1/auth/token/", {}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert set(body["errors"]) == {"username", "password"}


def test_bad_token_is_401(alex):
    client = api_client()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_malformed_json_is_400_parse_error(alex):
    response = api_client(alex).post("/api/v1/threads/", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_wrong_method_is_405_json(alex):
    response = api_client(alex).delete("/api/v1/me/")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_me_shows_user_license_and_numbers(alex, blair, shared_number, waba):
    # given: Alex shares one number with Blair and Casey and owns another alone
    own = PhoneNumberFactory(waba=waba, reps=[alex])
    # when
    response = api_client(alex).get("/api/v1/me/")
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["user"] == {"id": alex.id, "username": "rep.alex", "full_name": "Alex Morgan"}
    assert body["has_engage_license"] is True
    numbers = {n["id"]: n for n in body["phone_numbers"]}
    assert numbers[shared_number.id] == {
        "id": shared_number.id, "phone_number_id": "100000000000001",
        "display_phone_number": "+1 555 010 0001", "is_shared": True,
    }
    assert numbers[own.id]["is_shared"] is False


def test_me_works_without_license(drew):
    response = api_client(drew).get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["has_engage_license"] is False


def test_session_auth_works(client, alex):
    client.force_login(alex)
    assert client.get("/api/v1/me/").json()["user"]["username"] == "rep.alex"


@pytest.mark.parametrize("method,path", CHAT_ENDPOINTS + [("get", "/api/v1/me/")])
def test_every_endpoint_needs_authentication(method, path):
    response = getattr(api_client(), method)(path.format(account=1, thread=1), {}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("method,path", CHAT_ENDPOINTS)
def test_every_chat_endpoint_needs_the_license(method, path, drew, waba):
    # given: Drew, unlicensed, even has a number, an account and a thread
    number = PhoneNumberFactory(waba=waba, reps=[drew])
    account = AccountFactory(team=[drew])
    thread = ThreadFactory(user=drew, account=account, phone_number=number)
    # when
    response = getattr(api_client(drew), method)(
        path.format(account=account.id, thread=thread.id), {"text": "hi", "account": account.id}, format="json"
    )
    # then
    assert response.status_code == 403
    assert response.json() == {"code": "license_required", "detail": "Chat needs the Engage license; ask your administrator."}


def test_user_without_profile_is_unlicensed(db):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("bare", password="x" * 12)
    response = api_client(user).get("/api/v1/threads/")
    assert response.status_code == 403
    assert response.json()["code"] == "license_required"


def test_unknown_thread_is_404_json(alex):
    response = api_client(alex).get("/api/v1/threads/999999/")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "Not found."}
