import pytest
from tests.factories import api_token

from tests.factories import AccountFactory, PhoneNumberFactory, ThreadFactory, UserFactory


@pytest.fixture
def two_reps(db):
    """Alex and Blair, each on a number of their own, each with a thread with their own HCP."""
    alex, blair = UserFactory(username="sec.alex"), UserFactory(username="sec.blair")
    alex_number, blair_number = PhoneNumberFactory(reps=[alex]), PhoneNumberFactory(reps=[blair])
    ada = AccountFactory(name="Dr. Ada", team=[alex])
    grace = AccountFactory(name="Dr. Grace", team=[blair])
    return {
        "alex": alex, "blair": blair, "alex_number": alex_number, "blair_number": blair_number,
        "ada": ada, "grace": grace,
        "alex_thread": ThreadFactory(user=alex, account=ada, phone_number=alex_number),
        "blair_thread": ThreadFactory(user=blair, account=grace, phone_number=blair_number),
        "alex_token": api_token(alex),
    }
from tests.whatsapp.conftest import fake_graph  # noqa: F401,E402 - the fake Graph API fixture
