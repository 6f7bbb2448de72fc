"""API authentication: DRF's token check, with the user's profile read in the same query."""
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions


class TokenAuthentication(authentication.TokenAuthentication):
    """Every chat endpoint next asks for the Engage license, which lives on the profile: one query, not two."""

    def authenticate_credentials(self, key):
        model = self.get_model()
        token = model.objects.select_related("user", "user__profile").filter(key=key).first()
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return token.user, token
