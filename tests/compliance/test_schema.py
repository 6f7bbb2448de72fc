"""The history endpoint is in the OpenAPI schema, which still validates without warnings."""
import pytest
import yaml
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_history_endpoint_is_documented_and_schema_validates(tmp_path):
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    operation = yaml.safe_load(out.read_text())["paths"]["/api/v1/accounts/{account_id}/history"]["get"]
    assert {"text/csv", "application/json"} <= set(operation["responses"]["200"]["content"])
    assert {"400", "401", "403", "404"} <= set(operation["responses"])
    assert "staff_only" in str(operation["responses"]["403"])
    assert {p["name"] for p in operation["parameters"]} >= {"format", "since", "until"}
