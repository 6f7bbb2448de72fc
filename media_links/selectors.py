"""Reads of the media library."""
from django.db.models import QuerySet

from media_links.models import MediaItem


def media_for_web_links() -> QuerySet[MediaItem]:
    """Items an admin enabled for sharing as tracked links, by title."""
    return MediaItem.objects.filter(web_link_enabled=True).select_related("share_template").order_by("title", "id")
