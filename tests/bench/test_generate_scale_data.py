"""The scale data generator: exact sizes, realistic shape, and no writing next to real data."""
import pytest
from django.db.models import F
from django.core.management import CommandError, call_command

from chats.devtools.scale import generate_scale_data, generated_counts
from chats.models import Account, Message, PhoneNumber, Thread
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def test_builds_the_requested_sizes_with_shared_numbers_and_statuses():
    # when: a small data set is generated
    report = generate_scale_data(accounts=300, messages=3000, reps=10, log=lambda _: None)
    # then: exactly the sizes asked for
    assert report.counts["accounts"] == 300 and report.counts["messages"] == 3000 and report.counts["reps"] == 10
    assert generated_counts() == {"reps": 10, "accounts": 300, "messages": 3000}
    # and: some numbers are shared, every thread's HCP is on the rep's team, statuses vary
    assert PhoneNumber.objects.filter(assignments__isnull=False).distinct().count() < 10
    assert not Thread.objects.exclude(account__team=F("user")).exists()
    statuses = set(Message.objects.values_list("status", flat=True))
    assert {"received", "read", "delivered"} <= statuses
    assert Message.objects.filter(direction="outbound", sender__isnull=True).count() == 0


def test_reuses_data_of_the_same_sizes():
    generate_scale_data(accounts=50, messages=200, reps=5, log=lambda _: None)
    # when: asked again for the same sizes
    report = generate_scale_data(accounts=50, messages=200, reps=5, log=lambda _: None)
    # then: nothing is written again
    assert report.reused and Message.objects.count() == 200


def test_refuses_a_database_with_other_data_unless_forced():
    # given: a real account
    AccountFactory()
    # when / then: the command refuses
    with pytest.raises(CommandError, match="dedicated database"):
        call_command("generate_scale_data", accounts=20, messages=40, reps=2)
    assert generated_counts()["accounts"] == 0
    # and: with --force it writes next to it
    call_command("generate_scale_data", accounts=20, messages=40, reps=2, force=True, stdout=open("/dev/null", "w"))
    assert generated_counts()["messages"] == 40
    assert Account.objects.exclude(whatsapp_number__startswith="+1999").count() == 1
