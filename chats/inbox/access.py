"""Who may chat: the Engage license, and the API token that names a user.

One home for each, asked by the API, the pages and the WebSocket alike.
"""
from django.apps import apps

from chats.models import UserProfile

TOKEN_LENGTH = 40  # DRF's token keys


def _grants_engage(profile: UserProfile | None) -> bool:
    """Chat needs the license, kept on the user's profile; a user without a profile has none."""
    return bool(profile and profile.has_engage_license)


def has_engage_license(*, user) -> bool:
    """The license of `user`, from the profile loaded with it (or one query)."""
    return _grants_engage(getattr(user, "profile", None))


def has_engage_license_now(*, user_id: int) -> bool:
    """The license read afresh (a long-lived socket's user object may predate an admin's change)."""
    return _grants_engage(UserProfile.objects.filter(user_id=user_id).first())


def token_for_key(*, key):
    """The API token `key` with its user and the user's profile, in one query (the license check
    asks for the profile next); None for a malformed or unknown key. The caller refuses a token
    whose user is not active, as DRF does."""
    if not isinstance(key, str) or not key or len(key) > TOKEN_LENGTH:
        return None
    tokens = apps.get_model("authtoken", "Token").objects  # the API's token table (rest_framework.authtoken)
    return tokens.select_related("user", "user__profile").filter(key=key).first()
