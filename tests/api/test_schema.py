"""The OpenAPI schema: valid, warning-free, every endpoint and error code documented."""
import pytest
import yaml
from django.core.management import call_command

from tests.api.conftest import api_client

pytestmark = pytest.mark.django_db


def test_schema_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yml"
    # --fail-on-warn raises on any warning; --validate checks against the OpenAPI 3 spec
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    schema = yaml.safe_load(out.read_text())
    paths = schema["paths"]
    for path in ["/api/v1/auth/token/", "/api/v1/me/", "/api/v1/accounts/", "/api/v1/accounts/{account_id}/",
                 "/api/v1/threads/", "/api/v1/threads/{thread_id}/", "/api/v1/threads/{thread_id}/read/",
                 "/api/v1/threads/{thread_id}/messages/", "/api/v1/threads/{thread_id}/end/",
                 "/api/v1/accounts/{account_id}/consent/", "/api/v1/templates/", "/api/v1/media/",
                 "/api/v1/restricted-phrases/check/"]:
        assert path in paths, path
    assert "Error" in schema["components"]["schemas"]
    chat_get = paths["/api/v1/threads/{thread_id}/"]["get"]["responses"]
    assert {"200", "401", "403", "404"} <= set(chat_get)
    check = paths["/api/v1/restricted-phrases/check/"]["post"]
    assert check["responses"]["400"]["content"]["application/json"]["schema"]["$ref"].endswith("ValidationError")
    assert "examples" in check["requestBody"]["content"]["application/json"]
    send = paths["/api/v1/threads/{thread_id}/messages/"]["post"]["responses"]
    assert {"200", "201", "400", "403", "404", "409", "422"} <= set(send)
    assert {"200", "403", "404", "409"} <= set(paths["/api/v1/threads/{thread_id}/end/"]["post"]["responses"])
    assert {"200", "403", "404"} <= set(paths["/api/v1/accounts/{account_id}/consent/"]["post"]["responses"])


def test_schema_and_docs_are_served(alex):
    client = api_client(alex)
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()
