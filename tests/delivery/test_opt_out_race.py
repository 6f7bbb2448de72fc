"""A STOP that races a send: the record keeps the truth (docs/compliance.md, "A STOP that races a send").

Either the opt-out commits before the hand-off is claimed, and nothing goes to Meta (failed,
`opted_out`), or the claim came first, and the message keeps its true outcome: `sent` with
Meta's wamid, statuses applied. Never a failure for a message Meta has.
"""
import threading
import uuid

import pytest
from django.db import connection, connections

from chats.delivery.handoff import message_deliver
from chats.models import Message
from chats.whatsapp.backends import SandboxBackend, SendResult
from consent.models import ConsentRecord
from consent.services import consent_apply_keyword, consent_set_by_admin
from tests.factories import ConsentTypeFactory, ThreadFactory, UserFactory
from tests.whatsapp.conftest import post_webhook, status_body

pytestmark = pytest.mark.django_db


def queued(thread) -> Message:
    return Message.objects.create(thread=thread, phone_number=thread.phone_number, account=thread.account,
                                  sender=thread.user, direction="outbound", kind="text", body="Hello Dr. Lovelace",
                                  status="queued", client_id=uuid.uuid4())


def stop_by_keyword(account):
    ConsentTypeFactory(language="en")
    keyword = Message.objects.create(account=account, phone_number=None, direction="inbound", kind="text",
                                     body="STOP", status="received", wamid=f"wamid.STOP.{uuid.uuid4().hex}")
    consent_apply_keyword(message=keyword)


def stop_by_admin(account):
    consent_set_by_admin(account=account, status="opted_out", actor=UserFactory(is_staff=True))


class StopWhileSending(SandboxBackend):
    """Meta takes the message; while the request is in flight, the HCP's STOP lands."""

    name = "stop-while-sending"
    stop = None

    def send(self, *, phone_number_id: str, access_token: str, payload: dict) -> SendResult:
        StopWhileSending.stop()
        return super().send(phone_number_id=phone_number_id, access_token=access_token, payload=payload)


@pytest.mark.parametrize("stop", [stop_by_keyword, stop_by_admin], ids=["keyword", "admin"])
def test_a_stop_that_lands_while_meta_takes_the_message_leaves_the_true_outcome(stop, settings, alex, ada,
                                                                             solo_number, client):
    # given a queued message, and a STOP that lands after the worker claimed its hand-off
    settings.WHATSAPP_BACKEND = "tests.delivery.test_opt_out_race.StopWhileSending"
    StopWhileSending.stop = lambda: stop(ada)
    message = queued(ThreadFactory(user=alex, account=ada, phone_number=solo_number))
    # when the send task runs
    message_deliver(message_id=message.pk)
    # then the HCP is opted out, and the record says what happened: Meta has the message
    assert ConsentRecord.objects.get(account=ada).status == "opted_out"
    message.refresh_from_db()
    assert (message.status, message.failure_code) == ("sent", "")
    assert message.wamid.startswith("wamid.SANDBOX.")
    # and Meta's later statuses land on it
    post_webhook(client, status_body(number=solo_number, wamid=message.wamid, status="delivered"))
    message.refresh_from_db()
    assert message.status == "delivered"


def test_a_stop_committed_before_the_claim_sends_nothing(settings, alex, ada, solo_number):
    # given a queued message whose HCP opted out after the worker read it, before its claim
    settings.WHATSAPP_BACKEND = "tests.delivery.test_opt_out_race.StopWhileSending"
    StopWhileSending.stop = lambda: pytest.fail("nothing may reach Meta")
    message = queued(ThreadFactory(user=alex, account=ada, phone_number=solo_number))
    real_claim = __import__("chats.delivery.transitions", fromlist=["handoff_claim"]).handoff_claim

    def stop_then_claim(msg):
        ConsentRecord.objects.filter(account=ada).update(status="opted_out")  # the STOP commits first
        return real_claim(msg)

    from unittest import mock

    with mock.patch("chats.delivery.transitions.handoff_claim", side_effect=stop_then_claim):
        message_deliver(message_id=message.pk)
    # then nothing was handed to Meta, and the message failed as opted out
    message.refresh_from_db()
    assert (message.status, message.failure_code, message.wamid, message.handoff_started_at) == (
        "failed", "opted_out", None, None)


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_a_stop_racing_a_send_on_two_connections_never_fails_a_message_meta_has(settings):
    if connection.vendor != "postgresql":
        pytest.skip("two real connections need PostgreSQL (SQLite serialises writers)")
    from tests.factories import AccountFactory, PhoneNumberFactory

    # given a queued message; the worker's Graph call is held open until the STOP has committed
    rep = UserFactory(username="race.rep")
    hcp = AccountFactory(team=[rep])
    number = PhoneNumberFactory(reps=[rep])
    message = queued(ThreadFactory(user=rep, account=hcp, phone_number=number))
    in_flight, stopped = threading.Event(), threading.Event()

    def hold_until_stopped():
        in_flight.set()
        assert stopped.wait(10), "the STOP never committed"

    settings.WHATSAPP_BACKEND = "tests.delivery.test_opt_out_race.StopWhileSending"
    StopWhileSending.stop = hold_until_stopped

    def worker():
        try:
            message_deliver(message_id=message.pk)
        finally:
            connections.close_all()

    def admin_revokes():
        try:
            assert in_flight.wait(10)
            consent_set_by_admin(account=hcp, status="opted_out", actor=None)
            stopped.set()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker), threading.Thread(target=admin_revokes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    # then the STOP is recorded, and so is the send Meta took
    assert ConsentRecord.objects.get(account=hcp).status == "opted_out"
    message.refresh_from_db()
    assert message.status == "sent" and message.wamid and message.failure_code == ""
