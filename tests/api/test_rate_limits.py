"""Rate limits: per token and per address on sends and searches, per address on sign-ins; a
refusal is 429 `throttled` with Retry-After, and every limited answer carries the headers."""
import uuid

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import AccountFactory, PhoneNumberFactory, ThreadFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


def rep_with_thread():
    rep = UserFactory()
    thread = ThreadFactory(user=rep, account=AccountFactory(team=[rep]), phone_number=PhoneNumberFactory(reps=[rep]))
    return rep, thread


def client_of(user, ip="10.0.0.1"):
    client = APIClient(REMOTE_ADDR=ip)
    client.force_authenticate(user)
    return client


def send(client, thread):
    return client.post(f"/api/v1/threads/{thread.pk}/messages/",
                       {"kind": "text", "text": "hi", "client_id": str(uuid.uuid4())}, format="json")


def test_sends_per_token_are_limited_with_headers_and_retry_after(settings):
    settings.API_THROTTLE_RATES = {"send.user": "3/min"}
    rep, thread = rep_with_thread()
    client = client_of(rep)
    answers = [send(client, thread) for _ in range(3)]
    # each limited answer says the limit, what is left and when the window resets (whatever the send's outcome)
    assert [r["X-RateLimit-Remaining"] for r in answers] == ["2", "1", "0"]
    assert all(r["X-RateLimit-Limit"] == "3" and 0 < int(r["X-RateLimit-Reset"]) <= 60 for r in answers)
    refused = send(client, thread)
    assert refused.status_code == 429 and refused.json()["code"] == "throttled"
    assert 0 < int(refused["Retry-After"]) <= 60 and refused["X-RateLimit-Remaining"] == "0"
    # reading the thread is no send: not limited by it
    listed = client.get(f"/api/v1/threads/{thread.pk}/messages/")
    assert listed.status_code == 200 and "X-RateLimit-Limit" not in listed


def test_sends_per_address_are_limited_across_tokens(settings):
    settings.API_THROTTLE_RATES = {"send.ip": "2/min"}
    alex, alex_thread = rep_with_thread()
    blair, blair_thread = rep_with_thread()
    assert send(client_of(alex), alex_thread).status_code != 429
    assert send(client_of(blair), blair_thread).status_code != 429
    assert send(client_of(blair), blair_thread).status_code == 429  # the same address
    assert send(client_of(alex, ip="10.0.0.2"), alex_thread).status_code != 429  # another address


def test_searches_are_limited_per_token(settings):
    settings.API_THROTTLE_RATES = {"search.user": "2/min"}
    rep, _ = rep_with_thread()
    client = client_of(rep)
    assert [client.get("/api/v1/accounts/?search=a").status_code for _ in range(3)] == [200, 200, 429]


def test_many_usernames_tried_from_one_address_are_slowed(settings):
    settings.LOGIN_MAX_FAILURES_PER_IP = 20
    UserFactory(username="real.rep")
    client = Client(REMOTE_ADDR="10.9.9.9")
    for n in range(20):  # one try each for twenty usernames: no single name reaches its own limit
        wrong = {"username": f"guess.{n}", "password": "nope"}
        assert client.post("/api/v1/auth/token/", wrong, content_type="application/json").status_code == 400
    # then the address waits, even with a right password, on the token endpoint and the login page
    right = {"username": "real.rep", "password": "rapport-demo"}
    token = client.post("/api/v1/auth/token/", right, content_type="application/json")
    assert token.status_code == 429 and token.json()["code"] == "too_many_attempts"
    assert 0 < int(token["Retry-After"]) <= settings.LOGIN_FAILURE_WINDOW_SECONDS
    page = client.post("/accounts/login/", right)
    assert page.status_code == 429 and int(page["Retry-After"]) > 0
    # another address is not slowed
    assert Client(REMOTE_ADDR="10.9.9.10").post("/api/v1/auth/token/", right,
                                                  content_type="application/json").status_code == 200


def test_the_username_lock_says_when_to_try_again():
    UserFactory(username="locked.rep")
    client = Client(REMOTE_ADDR="10.8.8.8")
    for _ in range(5):
        client.post("/api/v1/auth/token/", {"username": "locked.rep", "password": "nope"},
                    content_type="application/json")
    refused = client.post("/api/v1/auth/token/", {"username": "locked.rep", "password": "rapport-demo"},
                          content_type="application/json")
    assert refused.status_code == 429 and 0 < int(refused["Retry-After"]) <= 300
