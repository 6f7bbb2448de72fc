"""A webhook receiver on 127.0.0.1 for tests: answers as scripted, records what it got."""
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    def __init__(self):
        self.received: list[tuple[dict, bytes]] = []  # (headers, body)
        self.script: list[tuple[int, float]] = []  # (status, delay) per request; then 200
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                status, delay = receiver.script.pop(0) if receiver.script else (200, 0)
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                time.sleep(delay)
                try:
                    self.send_response(status)
                    self.end_headers()
                    self.wfile.write(b'{"ok": true}' if status < 300 else b"receiver is down")
                except OSError:
                    pass  # the client gave up (timeout)

            def log_message(self, *args):
                pass

        return Handler

    def close(self):
        self.server.shutdown()
        self.server.server_close()
