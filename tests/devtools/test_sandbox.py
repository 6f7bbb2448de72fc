"""The offline loop: sandbox sends play signed status webhooks; the HCP simulator writes in."""
from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

from chats.delivery.queue import message_queue_outbound
from chats.models import AuditEvent, Conversation, Message, Thread, WebhookEvent
from tests.factories import AccountFactory, ThreadFactory, UserFactory
from tests.whatsapp.conftest import run_on_commit

# No outer test transaction: on_commit work runs when each request or command commits, as in production.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def sandbox(settings):
    settings.WHATSAPP_BACKEND = "sandbox"


def test_send_plays_sent_delivered_read_through_signed_webhooks(alex, ada, solo_number):
    thread = ThreadFactory(user=alex, account=ada, phone_number=solo_number)
    with run_on_commit():
        message = Message.objects.create(thread=thread, phone_number=solo_number, account=ada, sender=alex,
                                         direction="outbound", body="Hello from the sandbox", status="queued")
        message_queue_outbound(message=message)
    message.refresh_from_db()
    assert message.wamid.startswith("wamid.SANDBOX.")
    assert message.status == "read"
    assert message.sent_at and message.delivered_at and message.read_at
    # three status bodies came in through the webhook store, each signed and processed
    events = WebhookEvent.objects.all()
    assert events.count() == 3 and all(e.processed_at and not e.error for e in events)
    assert all(message.wamid.encode() in bytes(e.body) for e in events)
    statuses = AuditEvent.objects.filter(kind="message.status", message=message).count()
    assert statuses == 3  # sent (send task) + delivered + read (webhooks)


def test_simulate_inbound_routes_to_the_latest_template_sender_and_opens_the_window(
        alex, blair, ada, shared_number, capsys):
    # given: on a shared number, Blair sent the most recent template to Ada
    Conversation.objects.create(phone_number=shared_number, account=ada, last_template_by=blair,
                                last_template_at=datetime.now(tz=timezone.utc))
    # when: Ada answers through the simulator command
    with run_on_commit():
        call_command("simulate_inbound", "--from", "+447700900001", "--to", shared_number.phone_number_id,
                     "--text", "Yes, please", "--in-process")
    # then
    assert "blair's thread" in capsys.readouterr().out
    message = Message.objects.get(direction="inbound")
    assert message.thread.user == blair and message.body == "Yes, please"
    conversation = Conversation.objects.get()
    assert conversation.owner == blair
    assert conversation.window_expires_at == message.wa_timestamp + timedelta(hours=24)
    assert not Thread.objects.filter(user=alex).exists()
    assert AuditEvent.objects.filter(kind="window.opened", thread=message.thread).exists()
    assert AuditEvent.objects.filter(kind="routing.decision", details__rule="latest_template_sender").exists()


def test_shared_number_without_template_or_owner_is_unrouted(ada, shared_number):
    from chats.devtools.simulator import simulate_inbound

    with run_on_commit():
        result = simulate_inbound(wa_from=ada.whatsapp_number, phone_number_id=shared_number.phone_number_id, text="?")
    message = Message.objects.get(pk=result.message.pk)
    assert message.thread is None and message.unrouted_reason.startswith("shared number")
    assert message.account == ada and message.phone_number == shared_number


def test_owner_gets_it_when_no_template_was_sent(alex, blair, ada, shared_number):
    from chats.devtools.simulator import simulate_inbound

    Conversation.objects.create(phone_number=shared_number, account=ada, owner=alex)
    with run_on_commit():
        result = simulate_inbound(wa_from=ada.whatsapp_number, phone_number_id=shared_number.phone_number_id, text="hi")
    assert result.message.thread.user == alex


def test_window_rolls_and_reopens_after_an_end(alex, ada, solo_number):
    from chats.devtools.simulator import simulate_inbound

    def write(ts):  # received a second after WhatsApp stamped it
        with time_machine.travel(datetime.fromtimestamp(ts + 1, tz=timezone.utc), tick=False), run_on_commit():
            simulate_inbound(wa_from=ada.whatsapp_number, phone_number_id=solo_number.phone_number_id, text="x",
                             timestamp=ts)

    write(1_700_000_000)
    write(1_700_003_600)
    conversation = Conversation.objects.get()
    assert conversation.last_inbound_at == datetime.fromtimestamp(1_700_003_600, tz=timezone.utc)
    Conversation.objects.update(ended_at=datetime.fromtimestamp(1_700_004_000, tz=timezone.utc), ended_by=alex)
    write(1_700_005_000)
    conversation.refresh_from_db()
    assert conversation.ended_at is None and conversation.owner == alex
    kinds = list(AuditEvent.objects.filter(kind__startswith="window.").order_by("id").values_list("kind", flat=True))
    assert kinds == ["window.opened", "window.rolled", "window.opened"]


def test_unknown_sender_and_unknown_number_are_kept_unrouted(solo_number, ada, capsys):
    with run_on_commit():
        call_command("simulate_inbound", "--from", "+447700900777", "--to", solo_number.phone_number_id, "--text", "a", "--in-process")
        call_command("simulate_inbound", "--from", ada.whatsapp_number, "--to", "999999999999999", "--text", "b", "--in-process")
    stranger = Message.objects.get(body="a")
    assert stranger.thread is None and stranger.wa_from == "447700900777" and "no HCP account" in stranger.unrouted_reason
    lost = Message.objects.get(body="b")
    assert lost.thread is None and lost.wa_phone_number_id == "999999999999999" and lost.account == ada
    assert "kept as unrouted" in capsys.readouterr().out


def test_simulate_inbound_rejects_a_bad_number(solo_number):
    with pytest.raises(CommandError, match="--from"):
        call_command("simulate_inbound", "--from", "not-a-number", "--to", solo_number.phone_number_id, "--text", "a")


def test_simulator_page_is_staff_only(client, alex):
    client.force_login(alex)
    response = client.get("/simulator/")
    assert response.status_code == 302 and "/login" in response["Location"]


def test_the_simulator_page_is_not_served_on_the_cloud_backend(client, settings, ada, solo_number):
    # given the cloud backend, where the page would sign forged HCP messages with the real secret
    settings.WHATSAPP_BACKEND = "cloud"
    client.force_login(UserFactory(username="admin", is_staff=True))
    # when staff open it or post a STOP through it
    assert client.get("/simulator/").status_code == 404
    with run_on_commit():
        response = client.post("/simulator/", {"account": ada.pk, "phone_number": solo_number.pk, "text": "STOP"})
    # then it is not there, and nothing was received
    assert response.status_code == 404
    assert not WebhookEvent.objects.exists() and not Message.objects.filter(body="STOP").exists()


def test_simulator_page_sends_as_the_hcp(client, alex, ada, solo_number):
    staff = UserFactory(username="admin", is_staff=True)
    client.force_login(staff)
    assert client.get("/simulator/").status_code == 200
    with run_on_commit():
        response = client.post("/simulator/", {"account": ada.pk, "phone_number": solo_number.pk, "text": "From the page"})
    assert response.status_code == 302
    message = Message.objects.get(body="From the page")
    assert message.thread.user == alex
    page = client.get("/simulator/")
    assert "From the page" in page.content.decode() and "Delivered to alex" in page.content.decode()


def test_simulate_inbound_says_when_no_server_answers(solo_number):
    # nothing listens on this port: the command says how to go on, instead of a trace
    with pytest.raises(CommandError, match="no server answered at http://127.0.0.1:9.*--in-process"):
        call_command("simulate_inbound", "--from", "+447700900777", "--to", solo_number.phone_number_id,
                     "--text", "a", "--server", "http://127.0.0.1:9")
