"""The one exception handler: domain errors keep their code and status; malformed input is never a 500."""
import pytest

from chats.api.errors import exception_handler
from chats.conversations.phrases import Match
from chats.errors import DomainError, NotFound, RestrictedPhrasesFound, SendRefused
from tests.api.conftest import api_client
from tests.factories import ThreadFactory


def test_send_refused_is_409_with_its_code():
    response = exception_handler(SendRefused("window_closed", "The 24-hour window is closed; send a template."), {})
    assert response.status_code == 409
    assert response.data == {"code": "window_closed", "detail": "The 24-hour window is closed; send a template."}


def test_restricted_phrases_is_422_with_matches():
    response = exception_handler(RestrictedPhrasesFound([Match(0, 4, "cure", "Off-label claims", "exact")]), {})
    assert response.status_code == 422
    assert response.data["code"] == "restricted_phrases"
    assert response.data["matches"] == [
        {"start": 0, "end": 4, "phrase": "cure", "rule": "Off-label claims", "match_type": "exact"}]


def test_domain_error_status_and_extra_fields():
    response = exception_handler(DomainError("too_late", "Too late.", retry=False), {})
    assert (response.status_code, response.data) == (400, {"code": "too_late", "detail": "Too late.", "retry": False})


def test_not_found_is_404_and_says_no_more():
    response = exception_handler(NotFound("not_found", "No such thread."), {})
    assert (response.status_code, response.data) == (404, {"code": "not_found", "detail": "Not found."})


def test_unknown_exceptions_are_left_to_django():
    assert exception_handler(RuntimeError("bug"), {}) is None


@pytest.mark.django_db
def test_malformed_query_parameters_are_never_500(alex, ada, shared_number):
    thread = ThreadFactory(user=alex, account=ada, phone_number=shared_number)
    client = api_client(alex)
    malformed = client.get("/api/v1/accounts/", {"limit": "abc", "offset": "-3"})
    assert malformed.status_code == 400 and set(malformed.json()["errors"]) == {"limit"}  # not silently ignored
    assert client.get("/api/v1/accounts/", {"offset": "999999"}).json()["results"] == []
    assert client.get("/api/v1/accounts/", {"search": "x" * 5000}).status_code == 200
    bad_cursor = client.get(f"/api/v1/threads/{thread.id}/messages/", {"cursor": "garbage"})
    assert bad_cursor.status_code == 400  # not a 404, which reads as "not yours"
    assert bad_cursor.json()["code"] == "invalid_cursor"
    assert client.get("/api/v1/templates/", {"thread": "abc"}).status_code == 400
    assert client.post("/api/v1/threads/", {"account": 10**30}, format="json").status_code == 404
