"""Who is on the other end of a chat socket: a session user or a DRF token holder.

The token never travels in the URL, because URLs end up in access logs and
browser history. It comes either as a `Sec-WebSocket-Protocol` entry
`token.<key>` (headers are not logged by Daphne or Uvicorn) or as the first
message `{"type": "auth", "token": "<key>"}`.
"""
from channels.db import database_sync_to_async
from django.contrib.auth.models import AnonymousUser
from rest_framework.authtoken.models import Token

from chats.models import UserProfile

SUBPROTOCOL = "rapport.v1"
TOKEN_PREFIX = "token."


def token_from_subprotocols(subprotocols: list[str]) -> str | None:
    """The key of the first `token.<key>` subprotocol offered, or None."""
    for protocol in subprotocols:
        if protocol.startswith(TOKEN_PREFIX):
            return protocol[len(TOKEN_PREFIX):]
    return None


def session_user(scope: dict):
    """The user AuthMiddlewareStack resolved from the session cookie, or None."""
    user = scope.get("user")
    if user is None or isinstance(user, AnonymousUser) or not user.is_authenticated:
        return None
    return user


@database_sync_to_async
def user_for_token(key) -> object | None:
    """The active user holding DRF token `key`, or None (same rule as TokenAuthentication)."""
    if not isinstance(key, str) or not key or len(key) > 40:
        return None
    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active:
        return None
    return token.user


@database_sync_to_async
def has_engage_license(user_id: int) -> bool:
    """A user without a profile has no license."""
    return UserProfile.objects.filter(user_id=user_id, has_engage_license=True).exists()
