"""Fixtures for the compliance tests: two HCPs with messages, consent and audit rows; staff and reps."""
import datetime

import pytest
import time_machine
from django.test import Client

from chats.audit import audit
from chats.models import AuditEvent, Message
from consent.models import ConsentEvent
from tests.api.conftest import MessageFactory
from tests.factories import AccountFactory, PhoneNumberFactory, ThreadFactory, UserFactory, WabaFactory

UTC = datetime.UTC


@pytest.fixture
def staff(db):
    return UserFactory(username="compliance.officer", is_staff=True, is_superuser=True, licensed=False)


@pytest.fixture
def admin_client(staff):
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def rep(db):
    return UserFactory(username="rep.alex")


@pytest.fixture
def other_rep(db):
    return UserFactory(username="rep.blair")


@pytest.fixture
def number(db, rep, other_rep):
    return PhoneNumberFactory(display_phone_number="+1 555 010 0001", reps=[rep, other_rep],
                              waba=WabaFactory(name="Rapport Pharma"))


def consent_event(account, previous, status, via="rep", actor=None, at=None):
    with time_machine.travel(at or datetime.datetime(2026, 3, 1, 9, tzinfo=UTC), tick=False):
        return ConsentEvent.objects.create(account=account, previous_status=previous, status=status, via=via,
                                           actor=actor)


@pytest.fixture
def two_hcps(rep, other_rep, number):
    """Ada and Grace, each with messages, a consent record, consent events and audit rows."""
    made = {}
    for name, user in (("Dr. Ada Lovelace", rep), ("Dr. Grace Hopper", other_rep)):
        account = AccountFactory(name=name, team=[rep, other_rep])
        thread = ThreadFactory(user=user, account=account, phone_number=number)
        out = MessageFactory(thread=thread, sender=user, body=f"Hello {name}", status=Message.Status.READ)
        back = MessageFactory(thread=thread, direction=Message.Direction.INBOUND, body="Thanks",
                              status=Message.Status.RECEIVED, sender=None)
        events = [consent_event(account, "not_captured", "opted_in", actor=user)]
        audits = [
            audit(kind=AuditEvent.Kind.ROUTED, thread=thread, message=back, routed_to=user.username),
            audit(kind=AuditEvent.Kind.LINK_OPENED, thread=thread, token="abc"),
        ]
        made[name.split()[1].lower()] = {"account": account, "thread": thread, "messages": [out, back],
                                         "consent_events": events, "audits": audits}
    return made
