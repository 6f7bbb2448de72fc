"""Fixtures for the compliance tests: two HCPs with messages, consent and audit rows; staff and reps."""
import datetime

import pytest
import time_machine
from django.test import Client

from chats.compliance.audit import audit
from chats.models import AuditEvent, Message
from consent.models import ConsentEvent
from tests.api.conftest import MessageFactory
from tests.factories import AccountFactory, PhoneNumberFactory, TemplateFactory, ThreadFactory, UserFactory, WabaFactory

UTC = datetime.UTC
OUT, IN = "outbound", "inbound"


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


def at(day: int, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(2026, 4, day, hour, minute, tzinfo=UTC)  # day 1..3 in range, 0 = 31 March


def msg(when, thread, direction, status, **fields):
    with time_machine.travel(when, tick=False):
        if direction == IN:
            fields.setdefault("sender", None)
        else:
            fields.setdefault("sender", thread.user if thread else None)
        return MessageFactory(thread=thread, direction=direction, status=status, **fields)


@pytest.fixture
def world(db):
    """The dashboard's hand-counted fixture: 1 to 3 April 2026 in range (see test_dashboard.py)."""
    alex, blair, casey = (UserFactory(username=n) for n in ("rep.alex", "rep.blair", "rep.casey"))
    number_a = PhoneNumberFactory(display_phone_number="+1 555 010 0001", reps=[alex, blair])
    number_b = PhoneNumberFactory(display_phone_number="+1 555 010 0002", reps=[casey], waba=number_a.waba)
    ada = AccountFactory(name="Ada", consent="none")
    grace = AccountFactory(name="Grace", consent="none")
    t1 = TemplateFactory(name="intro_meeting_request", waba=number_a.waba)
    t2 = TemplateFactory(name="follow_up_visit", waba=number_a.waba)
    alex_ada = ThreadFactory(user=alex, account=ada, phone_number=number_a)
    blair_grace = ThreadFactory(user=blair, account=grace, phone_number=number_a)
    casey_ada = ThreadFactory(user=casey, account=ada, phone_number=number_b)
    # 31 March (outside the range)
    msg(datetime.datetime(2026, 3, 31, 23, 59, tzinfo=UTC), alex_ada, OUT, "read")
    # 1 April
    msg(at(1, 10), alex_ada, OUT, "read", kind="template", template=t1, sent_at=at(1, 10))
    msg(at(1, 10, 30), alex_ada, IN, "received")                                  # reply after 30 min
    msg(at(1, 11), alex_ada, OUT, "delivered", sent_at=at(1, 11))
    msg(at(1, 12), blair_grace, OUT, "failed", kind="template", template=t1, failure_code="window_closed")
    msg(at(1, 12, 20), blair_grace, IN, "received")                               # reply after 20 min
    # 2 April
    msg(at(2, 9), casey_ada, OUT, "sent", kind="template", template=t2, sent_at=at(2, 9))
    msg(at(2, 10), casey_ada, IN, "received")                                     # reply after 60 min
    msg(at(2, 11), casey_ada, OUT, "failed", failure_code="meta_error", sent_at=at(2, 11))
    msg(at(2, 13), blair_grace, OUT, "failed", failure_code="opted_out")
    msg(at(2, 15), None, IN, "received", phone_number=number_a, account=None)     # unrouted, unknown sender
    # 3 April
    msg(at(3, 8), alex_ada, OUT, "read", sent_at=at(3, 8))
    msg(at(3, 8, 10), alex_ada, IN, "received")                                   # reply after 10 min
    msg(at(3, 8, 20), alex_ada, IN, "received")                                   # follows an inbound: no reply
    # 4 April (outside)
    msg(datetime.datetime(2026, 4, 4, 0, 0, tzinfo=UTC), alex_ada, IN, "received")
    # consent
    consent_event(ada, "not_captured", "opted_in", at=at(1, 9))
    consent_event(grace, "opted_in", "opted_out", via="keyword", at=at(2, 9))
    consent_event(grace, "opted_out", "opted_out", via="keyword", at=at(2, 10))  # no change: not counted
    consent_event(grace, "opted_out", "opted_in", at=at(3, 9))
    consent_event(grace, "not_captured", "opted_in", at=datetime.datetime(2026, 3, 31, 9, tzinfo=UTC))
    return {"start": at(1, 0), "end": datetime.datetime(2026, 4, 4, tzinfo=UTC)}
