from django.http import HttpResponseRedirect
from django.shortcuts import render

from media_links.models import WebLink
from media_links.services import LinkExpired, weblink_open


def open_link(request, token: str):
    """GET /l/<token>: count the open and redirect to the content; 410 once expired."""
    try:
        link = weblink_open(token=token)
    except WebLink.DoesNotExist:
        return render(request, "media_links/link_missing.html", status=404)
    except LinkExpired as exc:
        return render(request, "media_links/link_expired.html", {"link": exc.link}, status=410)
    return HttpResponseRedirect(link.media_item.url)
