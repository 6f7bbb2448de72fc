"""Who is on the other end of a chat socket: a session user or an API token holder.

The token never travels in the URL, because URLs end up in access logs and
browser history. It comes either as a `Sec-WebSocket-Protocol` entry
`token.<key>` (headers are not logged by Daphne or Uvicorn) or as the first
message `{"type": "auth", "token": "<key>"}`. The token and the license are
looked up as the REST API does (chats/inbox/access.py).
"""
from channels.db import database_sync_to_async
from django.contrib.auth.models import AnonymousUser

from chats.inbox import access
from chats.realtime.origin import NO_ORIGIN

SUBPROTOCOL = "rapport.v1"
TOKEN_PREFIX = "token."


def token_from_subprotocols(subprotocols: list[str]) -> str | None:
    """The key of the first `token.<key>` subprotocol offered, or None."""
    for protocol in subprotocols:
        if protocol.startswith(TOKEN_PREFIX):
            return protocol[len(TOKEN_PREFIX):]
    return None


def session_user(scope: dict):
    """The user AuthMiddlewareStack resolved from the session cookie, or None. A handshake without
    an Origin (a program's, chats/realtime/origin.py) authenticates by token only."""
    if scope.get(NO_ORIGIN):
        return None
    user = scope.get("user")
    if user is None or isinstance(user, AnonymousUser) or not user.is_authenticated:
        return None
    return user


@database_sync_to_async
def user_for_token(key) -> object | None:
    """The active user holding API token `key`, or None."""
    token = access.token_for_key(key=key)
    if token is None or not token.user.is_active:
        return None
    return token.user


@database_sync_to_async
def has_engage_license(user_id: int) -> bool:
    return access.has_engage_license_now(user_id=user_id)
