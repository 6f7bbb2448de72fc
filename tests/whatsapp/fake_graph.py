"""A fake Graph API on 127.0.0.1: real HTTP, scripted answers, and a log of every request."""
from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    query: dict
    headers: dict
    json: dict | None
    at: float  # time.monotonic() when the request arrived


@dataclass
class Scripted:
    status: int = 200
    body: dict | str | bytes | None = None
    delay: float = 0.0
    content_type: str = "application/json"
    send_length: bool = True  # False: no Content-Length, the body ends when the connection closes


@dataclass
class FakeMedia:
    """A file an HCP sent, as Meta keeps it: GET /{version}/{id} describes it, GET /download/{id} serves it."""

    content: bytes
    mime_type: str = "image/jpeg"
    sha256: str | None = None  # what Meta says of it; None: the true hex digest
    file_size: int | None = None  # what Meta says of it; None: the true size
    send_length: bool = True  # False: the download comes without Content-Length
    info_failures: list[Scripted] = field(default_factory=list)  # answered first, one per request
    download_failures: list[Scripted] = field(default_factory=list)

    def sha256_hex(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass
class FakeGraph:
    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    script: list[Scripted] = field(default_factory=list)  # answers in order; then the default
    pages: dict[str, dict | Scripted] = field(default_factory=dict)  # GET path+?after=cursor -> body or answer
    media: dict[str, FakeMedia] = field(default_factory=dict)  # media id -> the file Meta keeps
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def answer(self, status: int = 200, body=None, delay: float = 0.0) -> None:
        self.script.append(Scripted(status, body, delay))

    def error(self, code: int, title: str = "Error", details: str = "", status: int = 400, delay: float = 0.0) -> None:
        self.answer(status, {"error": {"message": f"({code}) {title}", "type": "OAuthException", "code": code,
                                       "error_data": {"messaging_product": "whatsapp", "details": details},
                                       "fbtrace_id": "Afake"}}, delay)

    def add_media(self, media_id: str, content: bytes, **kwargs) -> FakeMedia:
        self.media[media_id] = FakeMedia(content, **kwargs)
        return self.media[media_id]

    def media_requests(self, media_id: str) -> list[Recorded]:
        """The info and download requests for one media id, in order."""
        return [r for r in self.requests if r.method == "GET" and r.path.rsplit("/", 1)[-1] == media_id]

    def _media_answer(self, request: Recorded) -> Scripted | None:
        head, _, media_id = request.path.rpartition("/")
        media = self.media.get(media_id)
        if head == "/download":
            if media is None:
                return Scripted(404, "Not Found", content_type="text/plain")
            if media.download_failures:
                return media.download_failures.pop(0)
            return Scripted(200, media.content, content_type=media.mime_type, send_length=media.send_length)
        if media is None:  # GET /{version}/{id} of a media id Meta does not know: its "no such object" error
            return None if head.count("/") != 1 else Scripted(404, {"error": {
                "message": "Unsupported get request. Object does not exist", "type": "GraphMethodException",
                "code": 100, "error_subcode": 33, "fbtrace_id": "Afake"}})
        if media.info_failures:
            return media.info_failures.pop(0)
        return Scripted(200, {"messaging_product": "whatsapp", "url": f"{self.url}/download/{media_id}",
                              "mime_type": media.mime_type, "id": media_id,
                              "sha256": media.sha256 if media.sha256 is not None else media.sha256_hex(),
                              "file_size": media.file_size if media.file_size is not None else len(media.content)})

    def messages_posted(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST" and r.path.endswith("/messages")]

    def read_statuses_posted(self) -> list[Recorded]:
        """The read receipts and typing indicators (`"status": "read"` bodies) Meta received."""
        return [r for r in self.messages_posted() if (r.json or {}).get("status") == "read"]

    def next_answer(self, request: Recorded) -> Scripted:
        with self.lock:
            self.requests.append(request)
            if request.method == "GET" and (answer := self._media_answer(request)) is not None:
                return answer
            if request.method == "GET":
                key = request.path + ("?after=" + request.query["after"][0] if "after" in request.query else "")
                page = self.pages.get(key, {"data": []})
                return page if isinstance(page, Scripted) else Scripted(200, page)
            if self.script:
                return self.script.pop(0)
            if (request.json or {}).get("status") == "read":
                return Scripted(200, {"success": True})  # Meta's answer to a read receipt or typing indicator
            wamid = f"wamid.FAKE.{next(self._ids)}"
        return Scripted(200, {"messaging_product": "whatsapp",
                              "contacts": [{"input": (request.json or {}).get("to"), "wa_id": (request.json or {}).get("to")}],
                              "messages": [{"id": wamid}]})


def start_fake_graph() -> tuple[FakeGraph, ThreadingHTTPServer]:
    fake = FakeGraph()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self):
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                payload = json.loads(raw) if raw else None
            except ValueError:
                payload = None
            recorded = Recorded(self.command, parts.path, parse_qs(parts.query), dict(self.headers.items()),
                                payload, time.monotonic())
            scripted = fake.next_answer(recorded)
            if scripted.delay:
                time.sleep(scripted.delay)
            if isinstance(scripted.body, bytes):
                body = scripted.body
            else:
                body = (scripted.body if isinstance(scripted.body, str) else json.dumps(scripted.body or {})).encode()
            try:
                self.send_response(scripted.status)
                self.send_header("Content-Type", scripted.content_type)
                if scripted.send_length:
                    self.send_header("Content-Length", str(len(body)))
                else:
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout tests)

        do_GET = do_POST = _handle

        def log_message(self, *args):
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 128  # the default backlog of 5 would make a burst's extra connects wait ~1 s for a SYN retry

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return fake, server


def most_in_any_window(times: list[float], span: float = 1.0) -> int:
    """The most of `times` (a fake Graph's receipt stamps, in seconds) that fall in any `span` seconds: what a
    per-number rate limit must hold to."""
    times, most, first = sorted(times), 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= span:
            first += 1
        most = max(most, last - first + 1)
    return most
