"""A user's language for the web chat and the API's texts (docs/webchat.md, "Languages").

UserProfile.language holds the user's pick; blank follows the browser's Accept-Language, which
Django's LocaleMiddleware has already applied when these run.
"""
from django.conf import settings
from django.db import transaction
from django.utils import translation

from chats.errors import DomainError
from chats.models import UserProfile


def user_language(*, user) -> str:
    """The language the user picked, or "" to follow the browser (also for anonymous users)."""
    if not getattr(user, "is_authenticated", False):
        return ""
    profile = getattr(user, "profile", None)
    return getattr(profile, "language", "") or ""


def activate_user_language(*, request, user) -> None:
    """Speak the user's own language for the rest of this request, when they picked one."""
    if language := user_language(user=user):
        translation.activate(language)
        request.LANGUAGE_CODE = language


@transaction.atomic
def user_language_set(*, user, language: str) -> UserProfile:
    """Save the user's language: one of settings.LANGUAGES, or "" to follow the browser."""
    if language and language not in dict(settings.LANGUAGES):
        raise DomainError("invalid_language", translation.gettext("Pick one of the languages offered."))
    profile, _created = UserProfile.objects.get_or_create(user=user)
    profile.language = language
    profile.save(update_fields=["language"])
    user.profile = profile
    return profile
