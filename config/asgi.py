"""ASGI entry point: webhook POSTs acknowledged natively, other HTTP through Django's WSGI handler
on a thread pool, WebSockets through Channels.

Every view here is synchronous. Django's own ASGI handler runs each sync middleware
hook and the view through a separate sync_to_async hop, about 3.5 ms of thread
hand-offs per request on this project's 2-core machine; a2wsgi runs the whole
request (middleware, view, signals) in one pool thread, one hop, 4 times the
throughput (docs/performance.md, "HTTP under the ASGI server").

`POST /webhooks/whatsapp/` skips Django altogether (chats/ingress/ack.py): even one hop's
request handling caps a process near 1,000 requests/s, the whole bar for webhooks (docs/performance.md).
"""
import gc
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

get_asgi_application()  # django.setup() before Channels and the routes are imported

from a2wsgi import WSGIMiddleware  # noqa: E402
from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

from chats.checks import refuse_to_serve_on_failed_checks  # noqa: E402
from chats.ingress.ack import WebhookAck  # noqa: E402
from chats.jobs import register_tasks  # noqa: E402
from chats.realtime.origin import BrowserOriginOrProgram  # noqa: E402
from chats.realtime.routing import websocket_urlpatterns  # noqa: E402

refuse_to_serve_on_failed_checks()  # no cloud backend with a shipped or empty secret (chats/checks.py)
register_tasks()  # before the first request: its threads then only look tasks up
django_http = WSGIMiddleware(get_wsgi_application(), workers=settings.HTTP_THREADS)
application = ProtocolTypeRouter(
    {
        "http": WebhookAck(django_http, bench_floor=os.environ.get("RAPPORT_BENCH_ENDPOINTS") == "1"),
        "websocket": BrowserOriginOrProgram(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)

# Everything loaded so far lives as long as the process: keep it out of the collector's
# full passes, which otherwise paused requests for 90-380 ms at scale (docs/performance.md).
gc.freeze()
