"""POST /webhooks/whatsapp/ acknowledged without Django's request handling, with group commit.

Django's handling of a request that does nothing tops out near 1,000/s per process on this
project's 2-core machine, the whole of the acknowledgement bar (docs/performance.md). This ASGI app
answers exactly `POST /webhooks/whatsapp/` itself and hands everything else (the GET
handshake, other methods and paths) to the fallback app, Django:

- the body is read with Django's limit (DATA_UPLOAD_MAX_MEMORY_SIZE): over it, 413
  `{"code": "too_large"}` before anything is verified or stored, as the Django view answers;
- deliveries go to `webhook_receive_many` through a group commit (chats/ingress/group_commit.py) on
  one writer thread per process: those that arrive while a batch is being written form the
  next, so under load one INSERT and one commit serve many webhooks;
- each answer leaves only after its batch has committed (a 200 is durable); a database
  error answers 503 for the whole batch, nothing of which was stored, and Meta retries.

What it skips of Django's stack, and why that is acceptable here, is in docs/whatsapp.md
("Acknowledgement path").
"""
from __future__ import annotations

import logging
from collections.abc import Sequence

from django.conf import settings
from django.db import DatabaseError, connection

from chats.db_session import session_keep_if_sound
from chats.errors import BodyTooLarge
from chats.ingress.group_commit import GroupCommit
from chats.ingress.receive import Delivery, ReceiveOutcome, webhook_receive_many

logger = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/whatsapp/"
BENCH_FLOOR_PATH = "/bench/floor/"
# Large enough that a batch never waits on the cap at the rates one process reaches; small
# enough that one INSERT statement stays modest (500 bodies of a few kB).
MAX_BATCH = 500

DATABASE_UNAVAILABLE = ReceiveOutcome(503, "database unavailable, retry later")
# Anything else unexpected: still "try again later" (Meta retries), never a 500.
NOT_STORED = ReceiveOutcome(503, "not stored, retry later")


def store_batch(deliveries: Sequence[Delivery]) -> list[ReceiveOutcome]:
    """The writer thread's unit of work: one batch, on the session the batch before it used (a broken
    one is closed and the next batch opens another)."""
    session_keep_if_sound()
    try:
        return webhook_receive_many(deliveries=deliveries)
    except DatabaseError:
        logger.exception("webhook batch of %s not stored: database error", len(deliveries))
        _close_connection()  # the next batch reconnects
        return [DATABASE_UNAVAILABLE] * len(deliveries)
    except Exception:
        logger.exception("webhook batch of %s not stored", len(deliveries))
        _close_connection()
        return [NOT_STORED] * len(deliveries)
    finally:
        session_keep_if_sound()


def _close_connection() -> None:
    try:
        connection.close()
    except DatabaseError:
        pass  # already broken; Django forgets it either way


class WebhookAck:
    """ASGI app: the webhook's POST answered here, every other HTTP request by `fallback`.

    `bench_floor`: also answer POST /bench/floor/ with 200 after reading the body, doing
    nothing else (the benchmark's floor for this path; docs/performance.md).
    """

    def __init__(self, fallback, *, max_batch: int = MAX_BATCH, bench_floor: bool = False):
        self.fallback, self.bench_floor = fallback, bench_floor
        self.writer: GroupCommit[Delivery, ReceiveOutcome] = GroupCommit(
            store_batch, max_batch=max_batch, thread_name="webhook-writer")

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            if scope["path"] == WEBHOOK_PATH:
                return await self._acknowledge(scope, receive, send)
            if self.bench_floor and scope["path"] == BENCH_FLOOR_PATH:
                return await self._floor(scope, receive, send)
        return await self.fallback(scope, receive, send)

    async def _acknowledge(self, scope, receive, send) -> None:
        try:
            body = await _read_body(scope, receive)
        except BodyTooBig:
            logger.warning("webhook body over DATA_UPLOAD_MAX_MEMORY_SIZE refused")
            return await _too_large(send)
        if body is None:
            return  # the client went away
        outcome = await self.writer.submit(Delivery(body, _header(scope, b"x-hub-signature-256")))
        await _respond(send, outcome.status_code, outcome.detail, b"text/plain")

    async def _floor(self, scope, receive, send) -> None:
        try:
            body = await _read_body(scope, receive)
        except BodyTooBig:
            return await _too_large(send)
        if body is not None:
            await _respond(send, 200, "ok", b"text/plain")


class BodyTooBig(Exception):
    """The body is over DATA_UPLOAD_MAX_MEMORY_SIZE."""


async def _read_body(scope, receive) -> bytes | None:
    """The whole body, or None when the client went away.

    Over Django's limit: BodyTooBig, at once when Content-Length says so (as Django refuses
    before reading), else as soon as the chunks read pass it.
    """
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    declared = _header(scope, b"content-length")
    if limit is not None and declared and declared.isdigit() and int(declared) > limit:
        raise BodyTooBig
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            raise BodyTooBig
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _header(scope, name: bytes) -> str | None:
    """A request header as Django's WSGI environ would hold it: repeated ones joined with commas."""
    values = [value.decode("latin-1") for key, value in scope["headers"] if key == name]
    return ",".join(values) if values else None


async def _too_large(send) -> None:
    """413 `{"code": "too_large", "detail"}`, as config/middleware.py answers the Django view."""
    body = BodyTooLarge(settings.DATA_UPLOAD_MAX_MEMORY_SIZE).as_json()
    await _respond(send, 413, body.decode(), b"application/json")


async def _respond(send, status: int, text: str, content_type: bytes) -> None:
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
