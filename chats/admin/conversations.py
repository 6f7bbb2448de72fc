"""Threads (one rep, one HCP, one number) and conversations (Meta's shared window state)."""
from django.contrib import admin
from django.db.models import F, Q
from django.utils import timezone

from chats.models import Conversation, Thread


@admin.register(Thread)
class ThreadAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "account", "phone_number", "last_activity_at", "created_at")
    list_filter = ("phone_number",)
    search_fields = (
        "account__name", "account__whatsapp_number", "user__username", "phone_number__display_phone_number",
    )
    list_select_related = ("user", "account", "phone_number")
    autocomplete_fields = ("user", "account", "phone_number")
    readonly_fields = ("created_at",)


class WindowFilter(admin.SimpleListFilter):
    title = "window"
    parameter_name = "window"

    def lookups(self, request, model_admin):
        return (("open", "Open"), ("closed", "Expired or ended"))

    def queryset(self, request, queryset):
        # Open: not yet expired and not ended since the HCP's last message.
        is_open = Q(window_expires_at__gt=timezone.now()) & (
            Q(ended_at__isnull=True) | Q(ended_at__lt=F("last_inbound_at"))
        )
        if self.value() == "open":
            return queryset.filter(is_open)
        if self.value() == "closed":
            return queryset.exclude(is_open)
        return queryset


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = (
        "account", "phone_number", "owner", "window", "last_inbound_at", "window_expires_at",
        "last_template_by", "last_template_at", "ended_at",
    )
    list_filter = (WindowFilter, "phone_number")
    search_fields = ("account__name", "account__whatsapp_number", "owner__username")
    list_select_related = ("account", "phone_number", "owner", "last_template_by")
    autocomplete_fields = ("account", "phone_number", "owner", "ended_by", "last_template_by")
    readonly_fields = ("window", "created_at", "updated_at")

    @admin.display(description="Window")
    def window(self, conversation):
        # Derived from the stored timestamps, like everywhere else: no scheduler needed.
        if conversation.ended_at and (
            not conversation.last_inbound_at or conversation.ended_at >= conversation.last_inbound_at
        ):
            return "ended"
        if not conversation.window_expires_at:
            return "none"
        return "open" if conversation.window_expires_at > timezone.now() else "expired"
