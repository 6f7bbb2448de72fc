"""Users with their Rapport profile (the Engage license) inline."""
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from rest_framework.authtoken.models import TokenProxy

from chats.models import UserProfile

User = get_user_model()


class UserProfileInline(admin.StackedInline):
    model = UserProfile
    can_delete = False
    fields = ("has_engage_license", "language")
    verbose_name_plural = "Rapport profile"


admin.site.unregister(User)
# API tokens are knox's (stored hashed; its admin shows a new key once, then only the digest and
# expiry). DRF's plain-text token table is empty since chats.0016 and has no page of its own.
if admin.site.is_registered(TokenProxy):
    admin.site.unregister(TokenProxy)


@admin.register(User)
class RapportUserAdmin(UserAdmin):
    inlines = [UserProfileInline]
    list_display = ("username", "email", "first_name", "last_name", "is_staff", "has_engage_license")
    list_filter = (*UserAdmin.list_filter, "profile__has_engage_license")
    list_select_related = ("profile",)

    @admin.display(boolean=True, description="Engage license", ordering="profile__has_engage_license")
    def has_engage_license(self, user):
        profile = getattr(user, "profile", None)
        return bool(profile and profile.has_engage_license)


@admin.register(UserProfile)
class UserProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "user_full_name", "has_engage_license", "language")
    list_filter = ("has_engage_license", "language")
    list_editable = ("has_engage_license",)
    search_fields = ("user__username", "user__first_name", "user__last_name", "user__email")
    list_select_related = ("user",)
    autocomplete_fields = ("user",)

    @admin.display(description="Name", ordering="user__last_name")
    def user_full_name(self, profile):
        return profile.user.get_full_name()
