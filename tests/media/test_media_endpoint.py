"""GET /api/v1/messages/{id}/media: the thread's rep and export staff only; safe headers."""
import pytest
from django.contrib.auth.models import Permission

from chats.models import Message
from tests.factories import ThreadFactory, UserFactory, api_token
from tests.media.conftest import JPEG, send_media

pytestmark = pytest.mark.django_db

SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.fixture
def image(client, fake_graph, media_settings, ada, solo_number, ada_thread):
    fake_graph.add_media("4470001", JPEG)
    send_media(client, number=solo_number, account=ada, caption="My scan")
    client.logout()
    return Message.objects.get(wamid="wamid.M1")


def url(message) -> str:
    return f"/api/v1/messages/{message.pk}/media"


def body_of(response) -> bytes:
    return b"".join(response.streaming_content)


def test_the_threads_rep_gets_the_file_inline_with_safe_headers(client, image, alex):
    # given: Alex, whose thread the photo is in, signed in
    client.force_login(alex)
    # when
    response = client.get(url(image))
    # then: the bytes, as an image shown in place, that a browser may neither sniff nor run
    assert response.status_code == 200 and body_of(response) == JPEG
    assert response["Content-Type"] == "image/jpeg"
    assert response["Content-Disposition"] == f'inline; filename="image-{image.pk}.jpg"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response["Cache-Control"] == "private, no-store"


def test_an_api_token_works_as_the_session_does(client, image, alex):
    response = client.get(url(image), HTTP_AUTHORIZATION=f"Token {api_token(alex)}")
    assert response.status_code == 200 and body_of(response) == JPEG


def test_another_rep_even_on_the_same_hcp_gets_404(client, image, blair, ada, solo_number):
    # given: Blair has a thread with Ada too, but the photo is in Alex's
    ThreadFactory(user=blair, account=ada, phone_number=solo_number)
    client.force_login(blair)
    # when / then: as if there were no such file
    response = client.get(url(image))
    assert response.status_code == 404 and response.json() == {"code": "not_found", "detail": "Not found."}


def test_staff_who_may_export_the_hcp_get_the_file(client, image):
    # given: compliance staff with the admin's right to view HCP accounts (the export's rule), no license
    officer = UserFactory(username="officer", is_staff=True, licensed=False)
    officer.user_permissions.add(Permission.objects.get(codename="view_account", content_type__app_label="chats"))
    client.force_login(officer)
    # when / then
    response = client.get(url(image))
    assert response.status_code == 200 and body_of(response) == JPEG


def test_staff_without_the_export_right_get_404(client, image):
    clerk = UserFactory(username="clerk", is_staff=True)
    client.force_login(clerk)
    assert client.get(url(image)).status_code == 404


def test_anonymous_gets_401(client, image):
    assert client.get(url(image)).status_code == 401


def test_a_file_not_ready_and_a_message_without_a_file_are_404(client, alex, ada_thread):
    client.force_login(alex)
    pending = Message.objects.create(thread=ada_thread, direction="inbound", kind="inbound_media", status="received",
                                     media={"type": "image", "id": "1", "status": "pending"})
    text = Message.objects.create(thread=ada_thread, direction="inbound", kind="text", body="hi", status="received")
    assert client.get(url(pending)).status_code == 404
    assert client.get(url(text)).status_code == 404
    assert client.get("/api/v1/messages/999999/media").status_code == 404


@pytest.mark.parametrize("mime_type,content,expected_type", [
    ("image/svg+xml", SVG, "image/svg+xml"),
    ("text/html", b"<script>alert(1)</script>", "text/html"),
    ("application/pdf", b"%PDF-1.4", "application/pdf"),
    ("not a mime type", b"\x00\x01", "application/octet-stream"),
], ids=["svg", "html", "pdf", "garbled"])
def test_anything_but_images_audio_and_video_is_a_download(client, fake_graph, media_settings, ada, solo_number,
                                                          ada_thread, alex, mime_type, content, expected_type):
    # given: a document whose stored type a browser could run or render
    fake_graph.add_media("4470002", content, mime_type=mime_type)
    send_media(client, number=solo_number, account=ada, wa_type="document", media_id="4470002", content=content,
               mime_type=mime_type, filename='evil"name\r\n.html')
    message = Message.objects.get(wamid="wamid.M1")
    client.force_login(alex)
    # when
    response = client.get(url(message))
    # then: an attachment, its name quoted safely, never inline
    assert response.status_code == 200 and body_of(response) == content
    assert response["Content-Type"] == expected_type
    assert response["Content-Disposition"].startswith("attachment; filename")
    assert "\r" not in response["Content-Disposition"] and "\n" not in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
