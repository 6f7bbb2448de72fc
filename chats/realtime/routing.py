"""WebSocket routes (see docs/realtime.md)."""
from django.urls import path

from chats.realtime.consumer import ChatConsumer

websocket_urlpatterns = [
    path("ws/chat/", ChatConsumer.as_asgi()),
]
