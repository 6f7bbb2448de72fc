"""Integration credentials: a token shown once and kept as a digest, scopes refused with 403, rotation and
revocation, audit rows naming the integration, and the integration_create command."""
import io

import pytest
from django.core.management import call_command

from chats.integration.credentials import integration_token_revoke, integration_token_rotate
from chats.models import AuditEvent, Integration
from tests.api.conftest import api_client
from tests.factories import AccountFactory, UserFactory
from tests.integration.conftest import integration_client, make_integration

pytestmark = pytest.mark.django_db

ENDPOINTS = [  # (method, path, body, the scope it needs)
    ("get", "/api/v1/integration/accounts/", None, "accounts:write"),
    ("put", "/api/v1/integration/accounts/CRM-1/", {"name": "Dr. A", "whatsapp_number": "+447700900111"},
     "accounts:write"),
    ("patch", "/api/v1/integration/accounts/CRM-1/", {"name": "Dr. A"}, "accounts:write"),
    ("post", "/api/v1/integration/accounts/bulk/", {"accounts": [{"external_id": "X"}]}, "accounts:write"),
    ("get", "/api/v1/integration/threads/", None, "messages:read"),
    ("get", "/api/v1/integration/changes/", None, "events:read"),
]


@pytest.mark.parametrize("method,path,body,scope", ENDPOINTS, ids=[f"{m}-{p}" for m, p, _, _ in ENDPOINTS])
def test_a_call_without_its_scope_is_403_scope_required(method, path, body, scope):
    # given: an integration holding every scope but the one this call needs
    others = [s for s in Integration.Scope.values if s != scope]
    _, client = make_integration(*others)
    # when
    response = getattr(client, method)(path, body, format="json")
    # then
    assert response.status_code == 403, response.json()
    assert response.json()["code"] == "scope_required" and scope in response.json()["detail"]


def test_consent_in_an_upsert_needs_consent_write():
    _, client = make_integration("accounts:write")
    response = client.put("/api/v1/integration/accounts/CRM-9/", {
        "name": "Dr. B", "whatsapp_number": "+447700900222",
        "consent": {"status": "opted_in", "captured_at": "2026-01-01T10:00:00Z", "source": "Veeva"}}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "scope_required"
    assert "consent:write" in response.json()["detail"]


def test_the_token_is_kept_only_as_a_digest_and_works_as_bearer():
    integration, client = make_integration("accounts:write")
    integration.refresh_from_db()
    assert client.get("/api/v1/integration/accounts/").status_code == 200
    token = client._credentials["HTTP_AUTHORIZATION"].split()[1]
    assert token.startswith("rpi_") and token not in integration.token_digest
    assert len(integration.token_digest) == 64 and integration.token_prefix in token


def test_bad_tokens_reps_and_sessions_are_401():
    make_integration("accounts:write")
    assert integration_client("rpi_nothing_here").get("/api/v1/integration/accounts/").status_code == 401
    assert integration_client("").get("/api/v1/integration/accounts/").status_code == 401
    rep = UserFactory()
    response = api_client(rep).get("/api/v1/integration/accounts/")
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"


def test_an_integration_never_acts_as_a_rep():
    # its user has no license and cannot sign in; its token opens no rep endpoint
    integration, client = make_integration(*Integration.Scope.values)
    assert not integration.user.has_usable_password() and not integration.user.is_active
    assert client.get("/api/v1/threads/").status_code == 401
    account = AccountFactory()
    assert client.post(f"/api/v1/accounts/{account.pk}/consent/", {"method": "verbal"}, format="json").status_code == 401


def test_rotate_replaces_the_token_and_revoke_ends_it():
    integration, old_client = make_integration("accounts:write")
    admin = UserFactory(username="admin", is_staff=True, is_superuser=True)
    new_token = integration_token_rotate(integration=integration, actor=admin)
    assert old_client.get("/api/v1/integration/accounts/").status_code == 401
    assert integration_client(new_token).get("/api/v1/integration/accounts/").status_code == 200
    integration_token_revoke(integration=integration, actor=admin)
    assert integration_client(new_token).get("/api/v1/integration/accounts/").status_code == 401
    actions = list(AuditEvent.objects.filter(kind="integration.credential").order_by("id")
                   .values_list("details__action", "actor__username"))
    assert actions == [("created", None), ("token_rotated", "admin"), ("token_revoked", "admin")]


def test_writes_are_audited_with_the_integration_as_actor():
    integration, client = make_integration("accounts:write")
    client.put("/api/v1/integration/accounts/CRM-7/", {"name": "Dr. C", "whatsapp_number": "+447700900333"},
               format="json")
    row = AuditEvent.objects.get(kind="admin.change", details__source="integration")
    assert row.actor == integration.user and row.details["integration"] == "Scoped CRM"
    assert row.details["action"] == "added" and row.account.external_id == "CRM-7"


def test_integration_create_command_prints_token_and_webhook_secret():
    out = io.StringIO()
    call_command("integration_create", "Salesforce", "--scope", "events:read", "--scope", "messages:read",
                 "--webhook", "http://127.0.0.1:9/hook", "--event", "message.created", "--event", "message.status",
                 stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("token: rpi_") and lines[1].startswith("webhook_secret: whsec_")
    integration = Integration.objects.get(name="Salesforce")
    assert integration.scopes == ["events:read", "messages:read"]
    subscription = integration.subscriptions.get()
    assert subscription.event_types == ["message.created", "message.status"]
    token = lines[0].removeprefix("token: ")
    assert integration_client(token).get("/api/v1/integration/changes/").status_code == 200
