"""POST /webhooks/whatsapp/ acknowledged before Django (chats/ingress/ack.py): same answers, group commit.

The writer thread has its own database connection, so these tests commit for real
(transaction=True) and look at the rows from the test's thread afterwards.
"""
import asyncio
import threading
from contextlib import contextmanager
from unittest import mock

import httpx
import pytest
from django.conf import settings
from django.db import OperationalError, connection
from django.test import Client

from chats.ingress import receive as inbound
from chats.ingress import ack
from chats.ingress.ack import WebhookAck
from chats.models import Message, WebhookEvent
from chats.whatsapp import signatures
from tests.whatsapp.conftest import text_body

pytestmark = pytest.mark.django_db(transaction=True)

URL = "http://testserver/webhooks/whatsapp/"


class RecordingFallback:
    """Stands in for Django: answers 204 and remembers what reached it."""

    def __init__(self):
        self.seen = []

    async def __call__(self, scope, receive, send):
        self.seen.append((scope["method"], scope["path"]))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def body_for(n: int) -> bytes:
    return text_body(number=None, wa_from="447700900001", wamid=f"wamid.ACK{n}", ts=1_700_000_000 + n)


def signed(body: bytes) -> dict:
    return {"X-Hub-Signature-256": signatures.sign(body, settings.WHATSAPP_APP_SECRET)}


def run(app, *requests):
    """Send the requests to `app` concurrently, each as (method, url, kwargs); the responses in order."""
    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
            return await asyncio.gather(*(client.request(method, url, **kw) for method, url, kw in requests))
    return asyncio.run(go())


@pytest.fixture
def drains():
    """drain_request replaced by a recorder: the acknowledgement alone is under test, not processing."""
    with mock.patch("chats.ingress.receive.drain_request") as drain_request:
        yield drain_request


@contextmanager
def batches(*, hold_first: bool = False):
    """Record each batch's size; with hold_first, the first batch waits in the writer until released."""
    sizes, release, real = [], threading.Event(), ack.webhook_receive_many

    def recording(*, deliveries):
        sizes.append(len(deliveries))
        if hold_first and len(sizes) == 1:
            release.wait(timeout=30)
        return real(deliveries=deliveries)

    with mock.patch("chats.ingress.ack.webhook_receive_many", recording):
        yield sizes, release


def run_with_first_batch_held(app, requests, sizes, release):
    """Send the first request; once the writer holds its batch, send the rest, then let the writer go on.

    So the rest arrive while a batch is being written, deterministically: they must wait for the next.
    """
    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
            def send(method, url, kw):
                return asyncio.ensure_future(client.request(method, url, **kw))

            first = send(*requests[0])
            await until(lambda: sizes == [1])
            rest = [send(*request) for request in requests[1:]]
            await until(lambda: app.writer.waiting == len(rest))
            release.set()
            return [await first] + list(await asyncio.gather(*rest))
    return asyncio.run(go())


async def until(condition):
    """Yield to the event loop until `condition()` holds (no clock involved)."""
    for _ in range(1_000_000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never held")


def test_a_signed_body_through_the_real_app_is_stored_once_and_processed(solo_number, ada):
    from config.asgi import application

    body = text_body(number=solo_number, account=ada, text="through the lean path", wamid="wamid.LEAN1")
    [response] = run(application, ("POST", URL, {"content": body, "headers": signed(body)}))
    assert (response.status_code, response.text, response.headers["content-type"]) == (200, "stored", "text/plain")
    assert [bytes(b) for b in WebhookEvent.objects.values_list("body", flat=True)] == [body]
    # on the embedded profile the drain runs eagerly after the batch's commit, in the writer thread
    assert Message.objects.get(wamid="wamid.LEAN1").body == "through the lean path"


def test_missing_and_wrong_signatures_are_refused_and_nothing_is_stored(drains):
    app = WebhookAck(RecordingFallback())
    body = body_for(1)
    missing, wrong = run(app, ("POST", URL, {"content": body}),
                         ("POST", URL, {"content": body, "headers": {"X-Hub-Signature-256": "sha256=" + "0" * 64}}))
    assert (missing.status_code, missing.text) == (401, "missing X-Hub-Signature-256")
    assert (wrong.status_code, wrong.text) == (403, "signature does not match")
    assert not WebhookEvent.objects.exists()
    drains.assert_not_called()
    assert app.fallback.seen == []


def test_answers_match_the_django_view_for_every_outcome(drains, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = body_for(2)
    cases = [{}, {"HTTP_X_HUB_SIGNATURE_256": "sha256=bad"},
             {"HTTP_X_HUB_SIGNATURE_256": signed(body)["X-Hub-Signature-256"]}]
    for extra in cases:
        django = Client().post("/webhooks/whatsapp/", data=body, content_type="application/json", **extra)
        headers = {"X-Hub-Signature-256": extra["HTTP_X_HUB_SIGNATURE_256"]} if extra else {}
        [lean] = run(WebhookAck(RecordingFallback()), ("POST", URL, {"content": body, "headers": headers}))
        assert (lean.status_code, lean.content, lean.headers["content-type"]) == (
            django.status_code, django.content, django["Content-Type"])


def test_an_oversized_body_gets_413_json_as_from_the_django_view_and_is_not_stored(drains, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    big = b'{"entry": [' + b'{"id": "1"},' * 200 + b'{}]}'
    django = Client().post("/webhooks/whatsapp/", data=big, content_type="application/json",
                           HTTP_X_HUB_SIGNATURE_256=signed(big)["X-Hub-Signature-256"])

    async def chunks():  # no Content-Length: the limit is enforced on what is read
        for start in range(0, len(big), 100):
            yield big[start:start + 100]

    declared, streamed = run(WebhookAck(RecordingFallback()), ("POST", URL, {"content": big, "headers": signed(big)}),
                             ("POST", URL, {"content": chunks(), "headers": signed(big)}))
    for lean in (declared, streamed):
        assert (lean.status_code, lean.content, lean.headers["content-type"]) == (
            413, django.content, django["Content-Type"])
    assert django.status_code == 413
    assert django.json() == {"code": "too_large", "detail": "The request body is over the 1,000-byte limit."}
    assert not WebhookEvent.objects.exists()
    # a body exactly at the limit is still taken
    at_limit = body_for(3).ljust(1000)
    [response] = run(WebhookAck(RecordingFallback()), ("POST", URL, {"content": at_limit, "headers": signed(at_limit)}))
    assert response.status_code == 200


def test_everything_but_the_webhook_post_reaches_the_fallback(drains):
    app = WebhookAck(RecordingFallback())
    responses = run(app, ("GET", URL, {"params": {"hub.mode": "subscribe"}}), ("PUT", URL, {"content": b"{}"}),
                    ("POST", "http://testserver/webhooks/whatsapp", {"content": b"{}"}),
                    ("POST", "http://testserver/api/v1/threads/", {"content": b"{}"}),
                    ("POST", "http://testserver/bench/floor/", {"content": b"{}"}))
    assert [r.status_code for r in responses] == [204] * 5
    assert sorted(app.fallback.seen) == sorted([("GET", "/webhooks/whatsapp/"), ("PUT", "/webhooks/whatsapp/"),
                                                ("POST", "/webhooks/whatsapp"), ("POST", "/api/v1/threads/"),
                                                ("POST", "/bench/floor/")])
    assert not WebhookEvent.objects.exists()


def test_the_verification_handshake_is_still_answered_by_django(settings):
    from config.asgi import application

    settings.WHATSAPP_VERIFY_TOKEN = "verify-me"
    [ok, refused] = run(application,
                        ("GET", URL, {"params": {"hub.mode": "subscribe", "hub.verify_token": "verify-me",
                                                 "hub.challenge": "1158201444"}}),
                        ("GET", URL, {"params": {"hub.mode": "subscribe", "hub.verify_token": "nope"}}))
    assert (ok.status_code, ok.text) == (200, "1158201444")
    assert refused.status_code == 403


def test_the_bench_floor_answers_without_verifying_or_storing(drains):
    app = WebhookAck(RecordingFallback(), bench_floor=True)
    [response] = run(app, ("POST", "http://testserver/bench/floor/", {"content": body_for(4)}))
    assert (response.status_code, response.text) == (200, "ok")
    assert app.fallback.seen == [] and not WebhookEvent.objects.exists()


def test_concurrent_deliveries_are_stored_exactly_once_in_fewer_batches(drains):
    # given a first delivery being written while 49 more arrive
    app = WebhookAck(RecordingFallback())
    bodies = [body_for(n) for n in range(50)]
    with batches(hold_first=True) as (sizes, release):
        responses = run_with_first_batch_held(
            app, [("POST", URL, {"content": b, "headers": signed(b)}) for b in bodies], sizes, release)
    # then every one is acknowledged after its commit, and those that waited went in together
    assert [(r.status_code, r.text) for r in responses] == [(200, "stored")] * 50
    assert sorted(bytes(b) for b in WebhookEvent.objects.values_list("body", flat=True)) == sorted(bodies)
    assert sizes == [1, 49]
    assert drains.call_count == 2  # one drain request per batch, not per delivery


def test_a_batch_never_exceeds_the_cap(drains):
    app = WebhookAck(RecordingFallback(), max_batch=10)
    bodies = [body_for(n) for n in range(35)]
    with batches(hold_first=True) as (sizes, release):
        responses = run_with_first_batch_held(
            app, [("POST", URL, {"content": b, "headers": signed(b)}) for b in bodies], sizes, release)
    assert all(r.status_code == 200 for r in responses)
    assert sizes == [1, 10, 10, 10, 4]
    assert WebhookEvent.objects.count() == 35


def test_signed_and_unsigned_deliveries_in_one_batch_each_get_their_own_answer(drains):
    app = WebhookAck(RecordingFallback())
    first, good, other = body_for(5), body_for(6), body_for(7)
    requests = [("POST", URL, {"content": first, "headers": signed(first)}),
                ("POST", URL, {"content": other}), ("POST", URL, {"content": good, "headers": signed(good)}),
                ("POST", URL, {"content": other, "headers": {"X-Hub-Signature-256": "sha256=00"}})]
    with batches(hold_first=True) as (sizes, release):
        responses = run_with_first_batch_held(app, requests, sizes, release)
    assert sizes == [1, 3]
    assert [r.status_code for r in responses] == [200, 401, 200, 403]
    assert sorted(bytes(b) for b in WebhookEvent.objects.values_list("body", flat=True)) == sorted([first, good])
    assert drains.call_count == 2


def test_a_database_error_answers_503_for_the_whole_batch_stores_nothing_and_the_next_batch_succeeds(drains):
    app = WebhookAck(RecordingFallback())
    bodies = [body_for(n) for n in range(10)]
    real_insert = inbound.bulk_insert

    def insert_then_lose_the_connection(model, objs):
        # On PostgreSQL the batch is one INSERT, atomic on its own: the database goes away during it. Elsewhere
        # the rows are in the batch's transaction when it goes away, and are rolled back.
        if connection.vendor != "postgresql":
            real_insert(model, objs)
        raise OperationalError("server closed the connection unexpectedly")

    # given the database fails while the batch is being written
    with batches(hold_first=True) as (sizes, release), \
            mock.patch.object(inbound, "bulk_insert", insert_then_lose_the_connection):
        responses = run_with_first_batch_held(
            app, [("POST", URL, {"content": b, "headers": signed(b)}) for b in bodies], sizes, release)
    # then every delivery of it hears 503 (Meta retries), none 500, and nothing is half-stored
    assert {(r.status_code, r.text) for r in responses} == {(503, "database unavailable, retry later")}
    assert sizes == [1, 9]  # both batches failed, the one of nine included
    assert not WebhookEvent.objects.exists()
    drains.assert_not_called()
    # and the next delivery is stored on a fresh connection
    [after] = run(app, ("POST", URL, {"content": bodies[0], "headers": signed(bodies[0])}))
    assert after.status_code == 200
    assert WebhookEvent.objects.count() == 1


def test_webhook_receive_is_a_batch_of_one(drains):
    from chats.ingress.receive import webhook_receive

    body = body_for(8)
    with mock.patch("chats.ingress.receive.webhook_receive_many", wraps=ack.webhook_receive_many) as many:
        outcome = webhook_receive(body=body, signature=signed(body)["X-Hub-Signature-256"])
    assert (outcome.status_code, outcome.detail) == (200, "stored")
    assert [len(call.kwargs["deliveries"]) for call in many.call_args_list] == [1]
    assert drains.call_count == 1
