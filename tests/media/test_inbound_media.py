"""An HCP's files through the real webhook path and the fake Graph API: fetched once, checked, stored."""
import datetime
import hashlib
import time

import pytest

from chats.media.storage import inbound_media_storage
from chats.models import AuditEvent, Message
from chats.tasks import fetch_inbound_media_task
from tests.media.conftest import JPEG, b64_sha256, send_media
from tests.whatsapp.conftest import post_webhook
from tests.whatsapp.fake_graph import Scripted

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4 rapport test document\n%%EOF"
OGG = b"OggS" + b"\x00voice" * 30
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 24

KINDS = {
    "image": (JPEG, {"mime_type": "image/jpeg", "caption": "My scan"}),
    "document": (PDF, {"mime_type": "application/pdf", "filename": "results.pdf", "caption": "Lab results"}),
    "audio": (OGG, {"mime_type": "audio/ogg; codecs=opus"}),
    "voice": (OGG, {"mime_type": "audio/ogg; codecs=opus", "voice": True}),
    "video": (MP4, {"mime_type": "video/mp4", "caption": "The device"}),
    "sticker": (WEBP, {"mime_type": "image/webp", "animated": False}),
}


def stored_files(folder: str = "") -> list[str]:
    """Every file in the inbound media storage (none when nothing was ever stored)."""
    storage = inbound_media_storage()
    if not storage.exists(folder or "."):
        return []
    folders, files = storage.listdir(folder)
    return [f"{folder}/{f}".lstrip("/") for f in files] + [n for d in folders for n in stored_files(f"{folder}/{d}".lstrip("/"))]


def stored_bytes(message: Message) -> bytes:
    with inbound_media_storage().open(message.media["stored_name"], "rb") as f:
        return f.read()


@pytest.mark.parametrize("kind", list(KINDS), ids=list(KINDS))
def test_each_media_kind_is_fetched_checked_and_stored(client, fake_graph, media_settings, ada, solo_number,
                                                       ada_thread, published, kind):
    # given: Meta keeps the HCP's file under a media id
    content, fields = KINDS[kind]
    fake_graph.add_media("4470001", content, mime_type=fields["mime_type"])
    # when: the HCP's message arrives
    wa_type = "audio" if kind == "voice" else kind
    assert send_media(client, number=solo_number, account=ada, wa_type=wa_type, content=content, **fields).status_code == 200
    # then: the file was asked for with the number's token, downloaded once, and stored as sent
    message = Message.objects.get(wamid="wamid.M1")
    info, download = fake_graph.media_requests("4470001")
    assert info.path == "/v26.0/4470001" and download.path == "/download/4470001"
    token = solo_number.waba.effective_access_token
    assert info.headers["Authorization"] == download.headers["Authorization"] == f"Bearer {token}"
    assert message.kind == "inbound_media" and message.media["status"] == "ready"
    assert stored_bytes(message) == content
    shape = client_shape(client, message)
    assert shape == {
        "type": wa_type, "url": f"/api/v1/messages/{message.pk}/media/", "mime_type": fields["mime_type"],
        "size": len(content), "sha256": hashlib.sha256(content).hexdigest(),
        "filename": fields.get("filename"), "caption": fields.get("caption"), "voice": kind == "voice",
        "status": "ready", "failure": None,
    }
    # and: the rep heard of the new message (pending) and then of its file (ready), in that order
    events = [(c.args[0], c.args[1], c.args[2]["message"]["media"]["status"]) for c in published.call_args_list
              if c.args[1].startswith("message.")]
    assert events == [(ada_thread.user_id, "message.created", "pending"), (ada_thread.user_id, "message.updated", "ready")]
    assert AuditEvent.objects.filter(kind="message.status", message=message, details__media_status="ready").count() == 1


def client_shape(client, message):
    client.force_login(message.thread.user)
    page = client.get(f"/api/v1/threads/{message.thread_id}/messages/").json()
    return next(m for m in page["results"] if m["id"] == message.pk)["media"]


def test_file_over_the_cap_fails_before_download(client, fake_graph, media_settings, ada, solo_number, ada_thread):
    # given: a cap of 100 bytes and Meta describing a larger file
    media_settings.WHATSAPP_MEDIA_MAX_BYTES = 100
    fake_graph.add_media("4470001", JPEG)
    # when
    send_media(client, number=solo_number, account=ada)
    # then: failed with a reason, the file never downloaded, nothing stored
    message = Message.objects.get(wamid="wamid.M1")
    assert message.media["status"] == "failed" and message.media["failure_code"] == "too_large"
    assert [r.path for r in fake_graph.media_requests("4470001")] == ["/v26.0/4470001"]
    assert stored_files() == []


def test_file_over_the_cap_is_cut_off_while_streaming(client, fake_graph, media_settings, ada, solo_number, ada_thread):
    # given: Meta understates the size and the download comes without Content-Length
    media_settings.WHATSAPP_MEDIA_MAX_BYTES = 100
    fake_graph.add_media("4470001", JPEG, file_size=50, send_length=False)
    # when
    send_media(client, number=solo_number, account=ada)
    # then
    message = Message.objects.get(wamid="wamid.M1")
    assert message.media["failure_code"] == "too_large"
    assert "larger than 100 bytes" in message.media["failure"]


def test_a_file_whose_hash_is_not_metas_is_not_kept(client, fake_graph, media_settings, ada, solo_number, ada_thread,
                                                   published):
    # given: the bytes Meta serves are not the ones its webhook hashed
    fake_graph.add_media("4470001", JPEG + b"tampered")
    # when
    send_media(client, number=solo_number, account=ada, sha256=b64_sha256(JPEG))
    # then
    message = Message.objects.get(wamid="wamid.M1")
    assert message.media["status"] == "failed" and message.media["failure_code"] == "hash_mismatch"
    updated = [c.args[2]["message"]["media"] for c in published.call_args_list if c.args[1] == "message.updated"]
    assert updated == [{"type": "image", "url": None, "mime_type": "image/jpeg", "size": None, "sha256": None,
                        "filename": None, "caption": None, "voice": False, "status": "failed",
                        "failure": "the file's SHA-256 is not the one Meta gave; it was not kept"}]


def test_transient_errors_are_retried_until_the_file_comes(client, fake_graph, media_settings, ada, solo_number,
                                                          ada_thread):
    # given: Meta answers 500 for the id, then the download breaks with a 503, then all is well
    media = fake_graph.add_media("4470001", JPEG)
    media.info_failures.append(Scripted(500, {"error": {"code": 2, "message": "Service temporarily unavailable"}}))
    media.download_failures.append(Scripted(503, "busy", content_type="text/plain"))
    # when
    send_media(client, number=solo_number, account=ada)
    # then: asked three times, downloaded twice, stored once
    message = Message.objects.get(wamid="wamid.M1")
    paths = [r.path for r in fake_graph.media_requests("4470001")]
    assert paths == ["/v26.0/4470001", "/v26.0/4470001", "/download/4470001", "/v26.0/4470001", "/download/4470001"]
    assert message.media["status"] == "ready" and message.media["attempts"] == 2
    assert stored_bytes(message) == JPEG


def test_media_past_metas_retention_fails_instead_of_retrying(client, fake_graph, media_settings, ada, solo_number,
                                                             ada_thread):
    # given: a webhook replayed 8 days after the HCP sent the file, and Meta busy
    media = fake_graph.add_media("4470001", JPEG)
    media.info_failures.append(Scripted(500, {"error": {"code": 1, "message": "An unknown error occurred"}}))
    eight_days_ago = int(time.time()) - 8 * 24 * 3600
    # when
    send_media(client, number=solo_number, account=ada, ts=eight_days_ago)
    # then: one try, then failed: Meta does not keep it that long
    message = Message.objects.get(wamid="wamid.M1")
    assert len(fake_graph.media_requests("4470001")) == 1
    assert message.media["status"] == "failed" and message.media["failure_code"] == "expired"
    assert "about 7 days" in message.media["failure"]


def test_media_meta_no_longer_has_fails_at_once(client, fake_graph, media_settings, ada, solo_number, ada_thread):
    # given: Meta answers the id with its "no such object" error
    media = fake_graph.add_media("4470001", JPEG)
    media.info_failures.append(Scripted(404, {"error": {"code": 100, "message": "Unsupported get request."}}))
    # when
    send_media(client, number=solo_number, account=ada)
    # then
    message = Message.objects.get(wamid="wamid.M1")
    assert message.media["failure_code"] == "media_gone" and len(fake_graph.media_requests("4470001")) == 1


def test_an_empty_file_is_bad_content(client, fake_graph, media_settings, ada, solo_number, ada_thread):
    fake_graph.add_media("4470001", b"")
    send_media(client, number=solo_number, account=ada, content=b"")
    assert Message.objects.get(wamid="wamid.M1").media["failure_code"] == "bad_content"


def test_replays_and_second_runs_fetch_and_store_once(client, fake_graph, media_settings, ada, solo_number,
                                                     ada_thread, published):
    # given: the file fetched once
    fake_graph.add_media("4470001", JPEG)
    send_media(client, number=solo_number, account=ada)
    message = Message.objects.get(wamid="wamid.M1")
    # when: Meta replays the webhook and the task runs again
    send_media(client, number=solo_number, account=ada)
    fetch_inbound_media_task.delay([message.pk])
    # then: one download, one stored file, one "ready" event and audit row
    assert [r.path for r in fake_graph.media_requests("4470001")] == ["/v26.0/4470001", "/download/4470001"]
    assert stored_files() == [message.media["stored_name"]]
    assert Message.objects.filter(wamid="wamid.M1").count() == 1
    assert [c.args[1] for c in published.call_args_list if c.args[1] == "message.updated"] == ["message.updated"]
    assert AuditEvent.objects.filter(message=message, details__media_status="ready").count() == 1


def test_a_run_that_finds_another_fetching_waits_for_it(fake_graph, media_settings, ada, solo_number, ada_thread):
    # given: a message whose fetch another worker claimed a moment ago
    from chats.media import fetch

    message = Message.objects.create(thread=ada_thread, account=ada, phone_number=solo_number, direction="inbound",
                                     kind="inbound_media", status="received", wamid="wamid.M9",
                                     media={"type": "image", "id": "4470009", "status": "pending",
                                            "fetch_started_at": datetime.datetime.now(datetime.UTC).isoformat()})
    fake_graph.add_media("4470009", JPEG)
    # when / then: this run asks to come back later, and nothing is fetched
    with pytest.raises(fetch.RetryLater):
        fetch.inbound_media_fetch(message_id=message.pk)
    assert fake_graph.media_requests("4470009") == []


def test_a_media_message_without_an_id_is_failed_not_fetched(client, fake_graph, ada, solo_number, ada_thread):
    post_webhook(client, _media_without_id(solo_number, ada))
    message = Message.objects.get(wamid="wamid.M1")
    assert message.media["status"] == "failed" and fake_graph.requests == []


def _media_without_id(number, account):
    from tests.whatsapp.conftest import media_body

    return media_body(number=number, account=account, media={"mime_type": "image/jpeg"})


def test_a_file_whose_fetch_task_was_lost_is_fetched_by_the_sweep(client, fake_graph, media_settings, ada,
                                                                  solo_number, ada_thread, monkeypatch):
    import time_machine

    from chats import jobs
    from chats.tasks import requeue_lost_media_fetches_task

    # given: the HCP's photo arrived, but its fetch task was lost (a worker killed before it ran)
    fake_graph.add_media("4470001", JPEG, mime_type="image/jpeg")
    real_enqueue = jobs.enqueue
    monkeypatch.setattr(jobs, "enqueue", lambda name, *args: None if name == jobs.FETCH_INBOUND_MEDIA
                        else real_enqueue(name, *args))
    send_media(client, number=solo_number, account=ada)
    monkeypatch.setattr(jobs, "enqueue", real_enqueue)
    message = Message.objects.get(wamid="wamid.M1")
    assert message.media["status"] == "pending"
    # when: the sweep runs within the lease, nothing is due yet; after it, the file is fetched
    assert requeue_lost_media_fetches_task() == 0
    with time_machine.travel(datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=11)):
        from tests.whatsapp.conftest import run_on_commit

        with run_on_commit():
            assert requeue_lost_media_fetches_task() == 1
    # then: ready, stored once
    message.refresh_from_db()
    assert message.media["status"] == "ready" and stored_bytes(message) == JPEG
    assert len(fake_graph.media_requests("4470001")) == 2  # the info, then the download: once
