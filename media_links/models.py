import secrets

from django.db import models


class MediaItem(models.Model):
    class Kind(models.TextChoices):
        CLM_PRESENTATION = "clm_presentation", "CLM presentation"
        WEBSITE = "website", "Website"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    url = models.URLField(max_length=1000)
    thumbnail_url = models.URLField(max_length=1000, blank=True)
    web_link_enabled = models.BooleanField(default=False, help_text="May be shared with HCPs as a tracked link.")
    link_lifetime_days = models.PositiveIntegerField(default=30, help_text="How long a shared link stays open.")
    share_template = models.ForeignKey(
        "templates_app.MessageTemplate", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Optional template offered when sharing from the Media tab.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["title"]

    def __str__(self):
        return self.title


def new_link_token() -> str:
    return secrets.token_urlsafe(24)


class WebLink(models.Model):
    """A tracked link to a media item, shared in one thread."""

    token = models.CharField(max_length=64, unique=True, default=new_link_token)
    media_item = models.ForeignKey(MediaItem, on_delete=models.PROTECT, related_name="links")
    thread = models.ForeignKey("chats.Thread", on_delete=models.PROTECT, related_name="web_links")
    message = models.OneToOneField(
        "chats.Message", null=True, blank=True, on_delete=models.PROTECT, related_name="web_link"
    )
    expires_at = models.DateTimeField()
    open_count = models.PositiveIntegerField(default=0)
    first_opened_at = models.DateTimeField(null=True, blank=True)
    last_opened_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.media_item} → {self.thread.account}"
