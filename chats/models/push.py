from django.conf import settings
from django.db import models


class PushSubscription(models.Model):
    """One device (a browser profile) of one rep that turned Web Push notifications on.

    The endpoint is the push service's address for that browser: unique, since a browser
    has one per application server key. `p256dh` and `auth` are the browser's keys that
    encrypt each payload (RFC 8291); the push service never sees the text.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions")
    endpoint = models.CharField(max_length=1000, unique=True)
    p256dh = models.CharField(max_length=200)
    auth = models.CharField(max_length=100)
    device = models.CharField(max_length=120, blank=True, help_text="Read from the browser's User-Agent.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, help_text="The last push the service accepted.")

    class Meta:
        ordering = ["user_id", "-created_at"]

    def __str__(self):
        return f"{self.user} on {self.device or 'a device'}"
