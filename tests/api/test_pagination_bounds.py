"""Paging parameters far past any real list give an empty page, never a server error."""
import pytest

from tests.api.conftest import api_client
from tests.factories import AccountFactory, PhoneNumberFactory, ThreadFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", [
    "/api/v1/threads/?offset=16549567699108522622976",
    "/api/v1/accounts/?offset=99999999999999999999999999&limit=5",
    "/api/v1/accounts/?limit=99999999999999999999999",
])
def test_huge_offsets_and_limits_are_bounded(path):
    rep = UserFactory()
    number = PhoneNumberFactory(reps=[rep])
    ThreadFactory(user=rep, account=AccountFactory(team=[rep]), phone_number=number)
    response = api_client(rep).get(path)
    assert response.status_code == 200
    body = response.json()
    if "offset=" in path:
        assert body["results"] == [] and body["next"] is None
    else:
        assert len(body["results"]) == 1
