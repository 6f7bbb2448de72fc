"""The HCP simulator sends files too: the sandbox keeps them as Meta would, and the fetch finds them offline."""
import pytest
from django.core.management import call_command

from chats.media.storage import inbound_media_storage
from chats.models import Message
from tests.factories import ThreadFactory, UserFactory

# No outer test transaction: on_commit work runs when each request or command commits, as in production.
pytestmark = pytest.mark.django_db(transaction=True)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00rapport" * 16


@pytest.fixture(autouse=True)
def sandbox(settings):
    settings.WHATSAPP_BACKEND = "sandbox"


def read_stored(message) -> bytes:
    with inbound_media_storage().open(message.media["stored_name"], "rb") as f:
        return f.read()


def test_the_simulator_page_sends_a_photo_that_arrives_ready(client, alex, ada, solo_number):
    # given: staff on the simulator page, and Alex's thread with Ada
    ThreadFactory(user=alex, account=ada, phone_number=solo_number)
    client.force_login(UserFactory(username="staff", is_staff=True, is_superuser=True))
    # when: a photo with a caption is sent as Ada
    upload = _upload("scan.png", PNG, "image/png")
    response = client.post("/simulator/", {"account": ada.pk, "phone_number": solo_number.pk,
                                               "text": "My scan", "file": upload})
    # then: an image message in Alex's thread, fetched from the sandbox and stored as sent
    assert response.status_code == 302
    message = Message.objects.get(kind="inbound_media")
    assert message.thread.user == alex and message.wa_type == "image" and message.body == "My scan"
    assert message.media["status"] == "ready" and message.media["mime_type"] == "image/png"
    assert read_stored(message) == PNG


def test_the_command_sends_a_document_in_process(tmp_path, alex, ada, solo_number):
    ThreadFactory(user=alex, account=ada, phone_number=solo_number)
    path = tmp_path / "Lab results.pdf"
    path.write_bytes(b"%PDF-1.4 results")
    call_command("simulate_inbound", "--from", ada.whatsapp_number, "--to", solo_number.phone_number_id,
                 "--file", str(path), "--in-process")
    message = Message.objects.get(kind="inbound_media")
    assert message.wa_type == "document" and message.media["filename"] == "Lab results.pdf"
    assert message.media["status"] == "ready" and read_stored(message) == b"%PDF-1.4 results"


def _upload(name, content, content_type):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type=content_type)
