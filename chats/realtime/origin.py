"""Which WebSocket handshakes may go on: browsers by their Origin, programs by their token.

A browser always sends `Origin` with a WebSocket handshake, and a page on another site could
ride a rep's session cookie, so a handshake with an Origin must name one of ALLOWED_HOSTS
(Channels' AllowedHostsOriginValidator; refused otherwise). A handshake without one comes from a
program (Python's `websockets` sends none by default): it may go on, but only a token
authenticates it; a session cookie counts only beside its Origin (chats/realtime/auth.py).
"""
from channels.security.websocket import AllowedHostsOriginValidator

NO_ORIGIN = "rapport.no_origin"


def has_origin(scope: dict) -> bool:
    return any(name == b"origin" for name, _value in scope.get("headers", ()))


class BrowserOriginOrProgram:
    def __init__(self, application):
        self.application = application
        self.browser = AllowedHostsOriginValidator(application)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not has_origin(scope):
            return await self.application(dict(scope, **{NO_ORIGIN: True}), receive, send)
        return await self.browser(scope, receive, send)
