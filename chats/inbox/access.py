"""Who may chat, and with whom: the Engage license, the API token that names a user, and the
account team that says which HCPs a rep may see.

One home for each, asked by the API, the pages, the WebSocket, sending and ingress alike.
"""
import binascii

from django.db.models import Exists, OuterRef
from django.utils import timezone
from knox.crypto import hash_token
from knox.models import AuthToken

from chats.models import Account, UserProfile

TOKEN_MAX_LENGTH = 128  # knox's are 64 characters; tokens issued before it, 40


def _grants_engage(profile: UserProfile | None) -> bool:
    """Chat needs the license, kept on the user's profile; a user without a profile has none."""
    return bool(profile and profile.has_engage_license)


def has_engage_license(*, user) -> bool:
    """The license of `user`, from the profile loaded with it (or one query)."""
    return _grants_engage(getattr(user, "profile", None))


def users_who_may_chat(*, user_ids) -> dict[int, str]:
    """Of these users, the active ones with the license, read afresh in one query (who may be notified),
    each with their language (UserProfile.language; "" when they follow the browser)."""
    return dict(UserProfile.objects.filter(user_id__in=set(user_ids), has_engage_license=True, user__is_active=True)
                .values_list("user_id", "language"))


def has_engage_license_now(*, user_id: int) -> bool:
    """The license read afresh (a long-lived socket's user object may predate an admin's change)."""
    return _grants_engage(UserProfile.objects.filter(user_id=user_id).first())


def token_for_key(*, key):
    """The API token `key` with its user and the user's profile, in one query (the license check
    asks for the profile next); None for a malformed, unknown, expired or revoked key. Only the
    token's SHA-512 digest is stored (django-rest-knox): the key is hashed and looked up by it.
    The caller refuses a token whose user is not active, as DRF does."""
    if not isinstance(key, str) or not key or len(key) > TOKEN_MAX_LENGTH:
        return None
    try:
        digest = hash_token(key)
    except (TypeError, ValueError, binascii.Error, UnicodeError):
        return None
    token = AuthToken.objects.select_related("user", "user__profile").filter(digest=digest).first()
    if token is None or (token.expiry is not None and token.expiry <= timezone.now()):
        return None
    return token


def on_account_team(*, account_ref: str = "account_id", user_ref: str = "user_id", user_id: int | None = None) -> Exists:
    """For a row that names an HCP (`account_ref`) and a rep (`user_ref`, or the rep `user_id`): the
    rep may see the HCP, being on its account team. A rep taken off the team loses the thread: it
    is not found, and nothing can be sent from it."""
    user = OuterRef(user_ref) if user_id is None else user_id
    return Exists(Account.team.through.objects.filter(account_id=OuterRef(account_ref), user_id=user))
