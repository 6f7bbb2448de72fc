"""schemathesis against /api/schema/ with a valid token: no 500, no response outside the schema.

schemathesis' own pytest plugin does not run under pytest 9, so each API operation's
hypothesis strategy is driven here directly (bounded: MAX_EXAMPLES per operation).
"""
import os

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, given, settings as hsettings
from tests.factories import api_token
from schemathesis.checks import not_a_server_error, response_schema_conformance

from tests.factories import AccountFactory, PhoneNumberFactory, ThreadFactory, UserFactory

MAX_EXAMPLES = 15


@pytest.fixture
def _keep_test_connection():
    """The WSGI app closes "old" connections when a request ends; Django's test client
    switches that off so the test's transaction survives, and so must a direct WSGI caller."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.django_db
def test_api_conforms_to_its_schema(_keep_test_connection):
    # given: a licensed rep with a token, a number, an HCP and a thread
    alex = UserFactory(username="fuzz.alex")
    number = PhoneNumberFactory(reps=[alex])
    ThreadFactory(user=alex, account=AccountFactory(team=[alex]), phone_number=number)
    headers = {"Authorization": f"Token {api_token(alex)}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    failures = []
    for operation in operations:
        if operation.path == "/api/v1/auth/token/":
            continue  # its failures are throttled (tests/security/test_login_throttle.py)

        @hsettings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None,
                   derandomize=os.environ.get("RAPPORT_FUZZ_RANDOM") != "1")
        @given(case=operation.as_strategy())
        def check(case):
            case.call_and_validate(headers=headers, checks=[not_a_server_error, response_schema_conformance])

        try:
            check()
        except Exception as exc:  # noqa: BLE001 - collect every operation's failure, then report them together
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:800]}")
    # then: no operation answered 500 or outside its documented responses
    assert not failures, "\n\n".join(failures)
