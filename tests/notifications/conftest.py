"""A fake push service on 127.0.0.1 that records what it is sent, and a device subscribed to it with
keys the test made, so a test reads each notification as the browser would: decrypted."""
from __future__ import annotations

import base64
import json
import os
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from chats.models import PushSubscription
from chats.notifications.push import vapid_key_pair


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakePushService:
    """Answers every POST with `status` (201 by default) and keeps it in `received`."""

    base: str = ""
    status: int = 201
    received: list[Received] = field(default_factory=list)


@pytest.fixture
def push_service():
    service = FakePushService()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            service.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(service.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    service.base = f"http://127.0.0.1:{server.server_address[1]}"
    yield service
    server.shutdown()
    server.server_close()


@dataclass
class Device:
    """A browser's push subscription: its P-256 key pair and auth secret, made by the test."""

    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes

    @property
    def p256dh(self) -> str:
        return b64url(self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))

    @property
    def auth(self) -> str:
        return b64url(self.auth_secret)

    def as_json(self) -> dict:
        return {"endpoint": self.endpoint, "expirationTime": None, "keys": {"p256dh": self.p256dh, "auth": self.auth}}

    def subscribe(self, user, device="Chrome on Android") -> PushSubscription:
        return PushSubscription.objects.create(user=user, endpoint=self.endpoint, p256dh=self.p256dh, auth=self.auth,
                                               device=device)

    def read(self, received: Received) -> dict:
        """Decrypt one POST as the browser does (aes128gcm, RFC 8291) and parse its JSON."""
        return json.loads(http_ece.decrypt(received.body, private_key=self.private_key, auth_secret=self.auth_secret,
                                           version="aes128gcm"))


@pytest.fixture
def new_device(push_service):
    def make(name: str = "") -> Device:
        return Device(endpoint=f"{push_service.base}/push/{name or b64url(os.urandom(8))}",
                      private_key=ec.generate_private_key(ec.SECP256R1()), auth_secret=os.urandom(16))
    return make


@pytest.fixture
def vapid(settings):
    """Push on: a VAPID pair of the test's own."""
    public, private = vapid_key_pair()
    settings.VAPID_PUBLIC_KEY, settings.VAPID_PRIVATE_KEY = public, private
    settings.VAPID_SUBJECT = "mailto:ops@rapport.example.com"
    settings.PUSH_MESSAGE_TEXT = False
    settings.PUSH_ALLOW_PRIVATE_ENDPOINTS = True
    return public


# The conversation rules world (three reps on a shared number, Ada, the demo's templates, a recording
# WhatsApp backend, HCP messages through the signed webhook), as the conversation tests use it.
from tests.conversations.conftest import (  # noqa: E402,F401  (fixtures re-exported for this package)
    _fresh_matcher, ada, alex, backend, blair, casey, drew, keywords, shared_number, templates, threads, waba,
)
