"""Fixtures for the integration surface: an integration with chosen scopes and a client that uses its token."""
import pytest
from rest_framework.test import APIClient

from chats.integration.credentials import SCOPES, integration_create


def integration_client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def crm():
    """An integration with every scope, and a client that calls as it."""
    integration, token = integration_create(name="Veeva CRM", scopes=list(SCOPES))
    return integration, integration_client(token)


def make_integration(*scopes, name="Scoped CRM"):
    integration, token = integration_create(name=name, scopes=list(scopes))
    return integration, integration_client(token)


@pytest.fixture(autouse=True)
def _receivers_on_this_machine(settings):
    """Test receivers listen on 127.0.0.1: allowed on both profiles (the services profile refuses by default);
    the tests of refusal turn it off."""
    settings.INTEGRATION_WEBHOOK_ALLOW_PRIVATE = True
