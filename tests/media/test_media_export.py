"""The per-HCP export as a ZIP: the history's rows beside the files the HCP sent."""
import csv
import io
import zipfile

import pytest
from django.contrib.auth.models import Permission

from chats.models import AuditEvent, Message
from tests.factories import UserFactory
from tests.media.conftest import JPEG, send_media

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4 rapport test document\n%%EOF"


@pytest.fixture
def officer(db):
    user = UserFactory(username="officer", is_staff=True, licensed=False)
    user.user_permissions.add(Permission.objects.get(codename="view_account", content_type__app_label="chats"))
    return user


def test_zip_export_holds_the_history_and_each_file(client, fake_graph, media_settings, ada, solo_number, ada_thread,
                                                    officer):
    # given: Ada sent a photo and a document, both fetched, and a third file that failed
    fake_graph.add_media("4470001", JPEG)
    fake_graph.add_media("4470002", PDF, mime_type="application/pdf")
    send_media(client, number=solo_number, account=ada, wamid="wamid.M1")
    send_media(client, number=solo_number, account=ada, wa_type="document", media_id="4470002", content=PDF,
               mime_type="application/pdf", filename="../Lab results.pdf", wamid="wamid.M2")
    send_media(client, number=solo_number, account=ada, media_id="4470404", wamid="wamid.M3")
    photo, document = Message.objects.get(wamid="wamid.M1"), Message.objects.get(wamid="wamid.M2")
    # when: staff export her history as a ZIP (admin and API share the same response)
    client.force_login(officer)
    response = client.get(f"/api/v1/accounts/{ada.pk}/history/?format=zip")
    admin = client.get(f"/admin/chats/account/{ada.pk}/history.zip")
    # then: history.csv with every message row, and the two files under media/, bytes as stored
    assert response.status_code == admin.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == f'attachment; filename="hcp-{ada.pk}-history.zip"'
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.namelist() == ["history.csv", f"media/{photo.pk}-image.jpg", f"media/{document.pk}-Lab_results.pdf"]
    assert archive.read(f"media/{photo.pk}-image.jpg") == JPEG
    assert archive.read(f"media/{document.pk}-Lab_results.pdf") == PDF
    rows = list(csv.DictReader(io.StringIO(archive.read("history.csv").decode())))
    assert sorted(r["wamid"] for r in rows if r["record"] == "message") == ["wamid.M1", "wamid.M2", "wamid.M3"]
    assert AuditEvent.objects.filter(kind="history.exported", details__format="zip").count() == 2
