"""The media library and the tracked links shared from it."""
from django.contrib import admin
from django.db.models import Count

from chats.compliance.admin_audit import AuditedAdminMixin
from media_links.models import MediaItem, WebLink


@admin.register(MediaItem)
class MediaItemAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("title", "kind", "web_link_enabled", "link_lifetime_days", "share_template", "link_count")
    list_filter = ("kind", "web_link_enabled")
    search_fields = ("title", "description", "url")
    list_select_related = ("share_template",)
    autocomplete_fields = ("share_template",)
    readonly_fields = ("created_at",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(link_count=Count("links"))

    @admin.display(description="Links shared", ordering="link_count")
    def link_count(self, item):
        return item.link_count


class ExpiredFilter(admin.SimpleListFilter):
    title = "expiry"
    parameter_name = "expired"

    def lookups(self, request, model_admin):
        return (("no", "Still open"), ("yes", "Expired"))

    def queryset(self, request, queryset):
        from django.utils import timezone

        if self.value() == "yes":
            return queryset.filter(expires_at__lte=timezone.now())
        if self.value() == "no":
            return queryset.filter(expires_at__gt=timezone.now())
        return queryset


@admin.register(WebLink)
class WebLinkAdmin(admin.ModelAdmin):
    list_display = (
        "token", "media_item", "account", "rep", "expires_at", "open_count", "first_opened_at", "last_opened_at",
    )
    list_filter = (ExpiredFilter, "media_item")
    search_fields = ("token", "media_item__title", "thread__account__name", "thread__user__username")
    list_select_related = ("media_item", "thread__account", "thread__user")
    autocomplete_fields = ("media_item", "thread")
    raw_id_fields = ("message",)
    # Opens are counted by the /l/<token> view; the token is the link itself.
    readonly_fields = ("token", "open_count", "first_opened_at", "last_opened_at", "created_at")

    @admin.display(description="Account", ordering="thread__account__name")
    def account(self, link):
        return link.thread.account

    @admin.display(description="Rep", ordering="thread__user__username")
    def rep(self, link):
        return link.thread.user
