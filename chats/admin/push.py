"""Reps' devices that receive notifications, read-only: a device is turned on or off from the web chat."""
from django.contrib import admin

from chats.admin.base import ReadOnlyAdmin
from chats.models import PushSubscription


@admin.register(PushSubscription)
class PushSubscriptionAdmin(ReadOnlyAdmin):
    list_display = ("user", "device", "push_service", "created_at", "last_used_at")
    list_select_related = ("user",)
    search_fields = ("user__username", "device")
    exclude = ("p256dh", "auth")  # the device's keys: of no use to read

    def get_readonly_fields(self, request, obj=None):
        return [name for name in super().get_readonly_fields(request, obj) if name not in self.exclude]

    @admin.display(description="Push service")
    def push_service(self, subscription):
        return subscription.endpoint.split("/")[2] if subscription.endpoint.count("/") >= 2 else ""

    def has_delete_permission(self, request, obj=None):
        return request.user.has_perm("chats.delete_pushsubscription")  # a lost device may be turned off here
