"""Read-only audit tables: message history, raw webhooks, the audit trail."""
import json

from django.contrib import admin, messages
from django.db import transaction
from django.utils.html import format_html

from chats.compliance.changes import change_record
from chats.ingress.queue import webhook_events_replay
from chats.models import AuditEvent, Message, WebhookEvent

from .base import ReadOnlyAdmin, short
from .filters import FailureCodeFilter, HcpFilter, NumberFilter, RepFilter


class UnroutedFilter(admin.SimpleListFilter):
    """Inbound messages no rep could be given (kept, never dropped; docs/rules.md, "Shared numbers")."""

    title = "routing"
    parameter_name = "unrouted"

    def lookups(self, request, model_admin):
        return (("yes", "Unrouted inbound"), ("no", "Routed to a thread"))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(thread__isnull=True, direction=Message.Direction.INBOUND)
        if self.value() == "no":
            return queryset.filter(thread__isnull=False)
        return queryset


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at", "direction", "kind", "status", "account", "sender", "phone_number", "preview", "unrouted",
    )
    list_filter = (UnroutedFilter, "direction", "kind", "status", FailureCodeFilter, "phone_number")
    search_fields = ("body", "wamid", "account__name", "account__whatsapp_number", "wa_from", "wa_from_user_id",
                     "sender__username")
    list_select_related = ("account", "sender", "phone_number")
    show_full_result_count = False  # the table is large; skip the extra COUNT(*)
    fieldsets = (
        (None, {"fields": ("direction", "kind", "body", "thread", "account", "phone_number", "sender", "reply_to")}),
        ("Template", {"fields": ("template", "template_variables")}),
        ("Status", {"fields": ("status", "created_at", "sent_at", "delivered_at", "read_at", "failed_at",
                               "send_attempts")}),
        ("Failure", {"fields": ("failure_code", "failure_reason", "error_code", "error_title", "error_details")}),
        ("WhatsApp", {"fields": ("wamid", "wa_type", "wa_timestamp", "wa_from", "wa_from_user_id", "wa_phone_number_id", "media",
                                 "client_id", "unrouted_reason")}),
    )

    @admin.display(description="Body")
    def preview(self, message):
        return short(message.body)

    @admin.display(description="Unrouted", boolean=True)
    def unrouted(self, message):
        return message.is_unrouted


class WebhookStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return (("pending", "Pending"), ("processed", "Processed"), ("dead", "Dead-lettered"))

    def queryset(self, request, queryset):
        if self.value() == "pending":
            return queryset.filter(processed_at__isnull=True, dead_lettered_at__isnull=True)
        if self.value() == "processed":
            return queryset.filter(processed_at__isnull=False)
        if self.value() == "dead":
            return queryset.filter(processed_at__isnull=True, dead_lettered_at__isnull=False)
        return queryset


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    """Stored webhook bodies; a dead-lettered one shows its error and can be replayed."""

    list_display = ("id", "received_at", "processed_at", "dead_lettered_at", "attempts", "short_error")
    list_filter = (WebhookStateFilter,)
    actions = ["replay"]

    def has_replay_permission(self, request):
        return request.user.has_perm("chats.change_webhookevent")

    @admin.action(description="Replay the selected dead-lettered bodies", permissions=["replay"])
    def replay(self, request, queryset):
        dead = list(queryset.filter(processed_at__isnull=True, dead_lettered_at__isnull=False))
        with transaction.atomic():
            replayed = webhook_events_replay(event_ids=[event.pk for event in dead])
            for event in dead:
                change_record(actor=request.user, obj=event, action="replayed", source="admin",
                              error=short(event.error, 500))
        self.message_user(request, f"{replayed} dead-lettered bodies queued again.", messages.SUCCESS)
    search_fields = ("error",)
    exclude = ("body",)
    readonly_fields = ("body_json",)

    def get_readonly_fields(self, request, obj=None):
        return [name for name in super().get_readonly_fields(request, obj) if name != "body"]

    @admin.display(description="Error")
    def short_error(self, event):
        return short(event.error, 80)

    @admin.display(description="Body")
    def body_json(self, event):
        raw = bytes(event.body or b"")
        text = raw.decode("utf-8", errors="replace")
        try:
            text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except ValueError:
            pass
        return format_html("<pre style='white-space: pre-wrap'>{}</pre>", text)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "kind", "actor", "account", "phone_number", "summary")
    # Text boxes, not lists of links: there may be 100,000 HCPs. Each filter reads an (x, at) index.
    list_filter = ("kind", HcpFilter, RepFilter, NumberFilter, "at")
    search_fields = ("account__name", "actor__username", "kind")
    list_select_related = ("actor", "account", "phone_number")
    show_full_result_count = False

    @admin.display(description="Details")
    def summary(self, event):
        return short(json.dumps(event.details, ensure_ascii=False, sort_keys=True), 100)
