"""Django's model backend, loading a signed-in user's Rapport profile with the user.

Every signed-in request reads the profile (the user's language, config.middleware.UserLanguageMiddleware;
the Engage license on chat pages): one query with the user instead of a second one.
"""
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class ProfileModelBackend(ModelBackend):
    def get_user(self, user_id):
        user = get_user_model()._default_manager.select_related("profile").filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None
