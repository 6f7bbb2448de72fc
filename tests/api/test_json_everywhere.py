"""Every answer under /api/ is JSON `{code, detail}`: a walk over every URL pattern with bad ids,
methods, bodies and types, and the edges around them (no slash, bad cursors, paging values,
an unexpected error)."""
import base64
import re
import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tests.api.conftest import api_client
from tests.factories import AccountFactory, PhoneNumberFactory, ThreadFactory, UserFactory

pytestmark = pytest.mark.django_db


def api_paths() -> list[str]:
    """Every route under /api/v1/ with its converters filled by a placeholder."""
    found = []

    def walk(patterns, prefix):
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                found.append(prefix + str(p.pattern))

    walk(get_resolver().url_patterns, "/")
    return sorted({p for p in found if p.startswith("/api/v1/")})


def fill(route: str, value: str) -> str:
    return re.sub(r"<(?:\w+:)?\w+>", value, route)


def client_for(route: str, rep):
    """A rep's token client; on the integration endpoints (which take integration tokens only), an integration's."""
    if route.startswith("/api/v1/integration/"):
        from chats.integration.credentials import SCOPES, integration_create
        from tests.integration.conftest import integration_client

        return integration_client(integration_create(name=f"CRM {uuid.uuid4()}", scopes=list(SCOPES))[1])
    return api_client(rep)


@pytest.fixture
def world():
    rep = UserFactory()
    number = PhoneNumberFactory(reps=[rep])
    thread = ThreadFactory(user=rep, account=AccountFactory(team=[rep]), phone_number=number)
    return rep, thread


def assert_json_error(response, status=None):
    assert response["Content-Type"].startswith("application/json"), (response.status_code, response.content[:300])
    body = response.json()
    assert set(body) >= {"code", "detail"} and isinstance(body["code"], str), body
    assert response.status_code != 500 or body["code"] == "server_error"
    if status is not None:
        assert response.status_code == status, body
    return body


ROUTES = api_paths()


def test_the_walk_sees_every_route():
    assert len(ROUTES) >= 15 and "/api/v1/threads/<int:thread_id>/messages/" in ROUTES


@pytest.mark.parametrize("route", [r for r in ROUTES if "<" in r])
@pytest.mark.parametrize("bad_id", ["abc", "1.5", "-3", "99999999"])
def test_bad_ids_answer_404_json(world, route, bad_id):
    rep, _ = world
    for method in ("get", "post"):
        response = getattr(client_for(route, rep), method)(fill(route, bad_id), {}, format="json")
        assert_json_error(response)
        # not found; or, before any lookup, not allowed (the method, or a staff-only endpoint)
        assert response.status_code in (404, 405) or response.json()["code"] == "staff_only"


@pytest.mark.parametrize("route", ROUTES)
def test_every_method_and_bad_body_answers_json(world, route):
    rep, thread = world
    path = fill(route, str(thread.pk if "thread" in route else thread.account_id))
    client = client_for(route, rep)
    for method in ("put", "patch", "delete", "post", "get"):
        for body, content_type in ((b"{not json", "application/json"), (b"<xml/>", "application/xml"),
                                   (b"[" * 5000 + b"]" * 5000, "application/json"), (b'{"text": 5}', "application/json")):
            response = client.generic(method.upper(), path, body, content_type=content_type)
            if response.status_code < 400:
                continue  # a GET or an endpoint that ignores bodies
            body_json = assert_json_error(response)
            assert response.status_code != 500, body_json
            if response.status_code == 405:
                assert response.has_header("Allow")


def test_unknown_paths_and_the_schema_neighbours_answer_json(world):
    rep, _ = world
    for path in ("/api/v1/nothing-here/", "/api/v1/threads/1/nothing/", "/api/v2/", "/api/"):
        assert_json_error(api_client(rep).get(path), 404)


def test_a_missing_trailing_slash_is_served_with_its_body(world):
    rep, thread = world
    response = api_client(rep).post("/api/v1/restricted-phrases/check", {"text": "hello"}, format="json")
    assert response.status_code == 200 and response.json() == {"matches": []}
    assert api_client(rep).get(f"/api/v1/threads/{thread.pk}").status_code == 200


def test_unsupported_content_type_is_415_json(world):
    rep, _ = world
    response = api_client(rep).generic("POST", "/api/v1/restricted-phrases/check/", b"text=hello",
                                       content_type="text/plain")
    assert assert_json_error(response, 415)["code"] == "unsupported_media_type"


def _cursor(**parts) -> str:
    return base64.b64encode("&".join(f"{k}={v}" for k, v in parts.items()).encode()).decode()


@pytest.mark.parametrize("cursor", ["garbage", "!!!", _cursor(o="x"), _cursor(p="not-a-time"),
                                    _cursor(p="2025-13-45 99:99:99"), _cursor(o="1", r="1", p="abc")])
def test_bad_cursors_are_400_invalid_cursor(world, cursor):
    rep, thread = world
    response = api_client(rep).get(f"/api/v1/threads/{thread.pk}/messages/?cursor={cursor}")
    assert assert_json_error(response, 400)["code"] == "invalid_cursor"


@pytest.mark.parametrize("query,field", [
    ("page_size=abc", "page_size"), ("page_size=0", "page_size"), ("page_size=-5", "page_size"),
    ("page_size=1.5", "page_size"),
])
def test_malformed_page_size_names_the_field(world, query, field):
    rep, thread = world
    body = assert_json_error(api_client(rep).get(f"/api/v1/threads/{thread.pk}/messages/?{query}"), 400)
    assert field in body["errors"]


@pytest.mark.parametrize("path,field", [
    ("/api/v1/accounts/?limit=abc", "limit"), ("/api/v1/accounts/?limit=0", "limit"),
    ("/api/v1/threads/?offset=-1", "offset"), ("/api/v1/threads/?offset=2.0", "offset"),
])
def test_malformed_limit_and_offset_name_the_field(world, path, field):
    rep, _ = world
    body = assert_json_error(api_client(rep).get(path), 400)
    assert field in body["errors"]


def test_an_unexpected_error_is_500_server_error_without_a_trace(world, monkeypatch, caplog):
    rep, thread = world

    def broken(**kwargs):
        raise RuntimeError("secret internals " + uuid.uuid4().hex)

    monkeypatch.setattr("chats.api.views.selectors.thread_for_user", broken)
    client = api_client(rep)
    client.raise_request_exception = False
    response = client.get(f"/api/v1/threads/{thread.pk}/")
    body = assert_json_error(response, 500)
    assert body["code"] == "server_error" and "secret internals" not in response.content.decode()
    assert "secret internals" in caplog.text  # logged with its trace for us, not shown to the client


# --- strict types: nothing is coerced silently -------------------------------------------------


@pytest.mark.parametrize("body,field", [
    ({"kind": "text", "text": 5}, "text"),
    ({"kind": "text", "text": True}, "text"),
    ({"kind": 5, "text": "hi"}, "kind"),
    ({"kind": "template", "template": 1.0}, "template"),
    ({"kind": "template", "template": True}, "template"),
    ({"kind": "text", "text": "hi", "reply_to": "7"}, "reply_to"),
])
def test_a_send_with_a_value_of_the_wrong_type_is_400_naming_it(world, body, field):
    rep, thread = world
    response = api_client(rep).post(f"/api/v1/threads/{thread.pk}/messages/",
                                    {"client_id": str(uuid.uuid4()), **body}, format="json")
    assert field in assert_json_error(response, 400)["errors"]


def test_a_template_given_as_text_is_a_name_and_an_unknown_one_is_template_not_found(world):
    rep, thread = world
    response = api_client(rep).post(f"/api/v1/threads/{thread.pk}/messages/",
                                    {"kind": "template", "template": "1.0", "client_id": str(uuid.uuid4())},
                                    format="json")
    assert assert_json_error(response, 400)["code"] == "template_not_found"  # never template id 1


def test_a_client_id_must_be_a_uuid_string(world):
    rep, thread = world
    response = api_client(rep).post(f"/api/v1/threads/{thread.pk}/messages/",
                                    {"kind": "text", "text": "hi", "client_id": 12345}, format="json")
    assert "client_id" in assert_json_error(response, 400)["errors"]


@pytest.mark.parametrize("path,body,field", [
    ("/api/v1/restricted-phrases/check/", {"text": 5}, "text"),
    ("/api/v1/restricted-phrases/check/", {"text": ["a"]}, "text"),
    ("/api/v1/threads/", {"account": "5"}, "account"),
    ("/api/v1/auth/token/", {"username": 5, "password": "x"}, "username"),
])
def test_other_inputs_refuse_the_wrong_type(world, path, body, field):
    rep, _ = world
    assert field in assert_json_error(api_client(rep).post(path, body, format="json"), 400)["errors"]


def test_query_strings_and_form_bodies_may_give_ids_as_digits_only(world):
    rep, thread = world
    client = api_client(rep)
    assert client.get(f"/api/v1/templates/?thread={thread.pk}").status_code == 200
    assert "thread" in assert_json_error(client.get(f"/api/v1/templates/?thread={thread.pk}.0"), 400)["errors"]
    # a form body is all text: digits are an id there
    response = client.post("/api/v1/threads/", {"account": str(thread.account_id)})
    assert response.status_code in (200, 201), response.json()
