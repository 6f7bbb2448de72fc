"""Threads (one rep, one HCP, one number) and conversations (Meta's shared window state); every edit audited."""
from django.contrib import admin
from django.utils import timezone

from chats.compliance.admin_audit import AuditedAdminMixin
from chats.conversations.policy import window_of, window_open_q
from chats.models import Conversation, Thread


@admin.register(Thread)
class ThreadAdmin(AuditedAdminMixin, admin.ModelAdmin):
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
        is_open = window_open_q(now=timezone.now())
        if self.value() == "open":
            return queryset.filter(is_open)
        if self.value() == "closed":
            return queryset.exclude(is_open)
        return queryset


@admin.register(Conversation)
class ConversationAdmin(AuditedAdminMixin, admin.ModelAdmin):
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
        # The policy's window, as the API and the web chat show it: no scheduler needed.
        return window_of(conversation=conversation, now=timezone.now()).status
