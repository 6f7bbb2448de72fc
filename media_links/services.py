"""Tracked web links: created when a rep shares a media item, counted when opened."""
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from chats.compliance.audit import audit
from chats.models import AuditEvent, Message, Thread
from media_links.models import MediaItem, WebLink


class LinkExpired(Exception):
    def __init__(self, link: WebLink):
        super().__init__(f"link {link.token} expired at {link.expires_at:%Y-%m-%d %H:%M} UTC")
        self.link = link


def weblink_url(*, link: WebLink) -> str:
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/l/{link.token}"


def weblink_create(*, media_item: MediaItem, thread: Thread, message: Message | None = None, now=None) -> WebLink:
    """A new unguessable link to `media_item` for the HCP of `thread`."""
    now = now or timezone.now()
    return WebLink.objects.create(
        media_item=media_item, thread=thread, message=message,
        expires_at=now + timedelta(days=media_item.link_lifetime_days),
    )


@transaction.atomic
def weblink_open(*, token: str, now=None) -> WebLink:
    """Count one open of the link and return it; LinkExpired past its expiry, DoesNotExist if unknown.

    The count is one conditional UPDATE, so simultaneous opens are all counted.
    """
    now = now or timezone.now()
    link = WebLink.objects.select_related("media_item", "thread").get(token=token)
    if link.expires_at <= now:
        raise LinkExpired(link)
    WebLink.objects.filter(pk=link.pk).update(
        open_count=F("open_count") + 1, first_opened_at=Coalesce(F("first_opened_at"), now), last_opened_at=now
    )
    link.refresh_from_db(fields=["open_count", "first_opened_at", "last_opened_at"])
    audit(kind=AuditEvent.Kind.LINK_OPENED, thread=link.thread, message=link.message,
          token_suffix=link.token[-6:], media_item=link.media_item_id, open_count=link.open_count)
    return link
