"""API authentication: DRF's token header, the token looked up as the WebSocket does (chats/inbox/access.py)."""
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from chats.inbox.access import token_for_key
from chats.inbox.language import activate_user_language


class TokenAuthentication(authentication.TokenAuthentication):
    """Every chat endpoint next asks for the Engage license, which lives on the profile: one query, not two."""

    def authenticate_credentials(self, key):
        token = token_for_key(key=key)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return token.user, token

    def authenticate(self, request):
        """Who the token is, and from here on their own language for the answer's texts."""
        result = super().authenticate(request)
        if result is not None:
            activate_user_language(request=request, user=result[0])
        return result
