"""A fake Graph API on 127.0.0.1: real HTTP, scripted answers, and a log of every request."""
from __future__ import annotations

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
    body: dict | str | None = None
    delay: float = 0.0


@dataclass
class FakeGraph:
    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    script: list[Scripted] = field(default_factory=list)  # answers in order; then the default
    pages: dict[str, dict | Scripted] = field(default_factory=dict)  # GET path+?after=cursor -> body or answer
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def answer(self, status: int = 200, body=None, delay: float = 0.0) -> None:
        self.script.append(Scripted(status, body, delay))

    def error(self, code: int, title: str = "Error", details: str = "", status: int = 400, delay: float = 0.0) -> None:
        self.answer(status, {"error": {"message": f"({code}) {title}", "type": "OAuthException", "code": code,
                                       "error_data": {"messaging_product": "whatsapp", "details": details},
                                       "fbtrace_id": "Afake"}}, delay)

    def messages_posted(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST" and r.path.endswith("/messages")]

    def read_statuses_posted(self) -> list[Recorded]:
        """The read receipts and typing indicators (`"status": "read"` bodies) Meta received."""
        return [r for r in self.messages_posted() if (r.json or {}).get("status") == "read"]

    def next_answer(self, request: Recorded) -> Scripted:
        with self.lock:
            self.requests.append(request)
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
            body = scripted.body if isinstance(scripted.body, str) else json.dumps(scripted.body or {})
            try:
                self.send_response(scripted.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body.encode())))
                self.end_headers()
                self.wfile.write(body.encode())
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
