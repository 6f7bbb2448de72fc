"""WebSocket routes. The chat consumer arrives with the live web chat."""
websocket_urlpatterns: list = []
