"""The web chat as an installable app: its manifest, icons, service worker and offline page.

Served from the site's root, where browsers look for them: `/manifest.webmanifest`, `/favicon.ico`,
`/sw.js` (a service worker controls the pages under its own path, so it lives at `/`) and
`/offline/`. The service worker only answers navigations the network cannot serve, with the offline
page; it caches nothing else, so a rep never sees stale conversations (docs/webchat.md).
"""
from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.utils import translation
from django.views.decorators.cache import cache_control

THEME_COLOUR = "#0a6b4f"  # --brand in config/static/css/app.css


@cache_control(max_age=86400, public=True)
def manifest(request):
    icon = {"type": "image/png"}
    return JsonResponse({
        "name": "Rapport",
        "short_name": "Rapport",
        "description": "Chat with healthcare professionals over WhatsApp, within the rules.",
        "id": "/chats/",
        "start_url": "/chats/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": THEME_COLOUR,
        "icons": [
            {**icon, "src": static("icons/icon-192.png"), "sizes": "192x192", "purpose": "any"},
            {**icon, "src": static("icons/icon-512.png"), "sizes": "512x512", "purpose": "any"},
            {**icon, "src": static("icons/icon-maskable-512.png"), "sizes": "512x512", "purpose": "maskable"},
            {**icon, "src": static("icons/apple-touch-icon.png"), "sizes": "180x180", "purpose": "any"},
        ],
    }, content_type="application/manifest+json")


@cache_control(max_age=86400, public=True)
def favicon(request):
    return _static_file("icons/favicon.ico", "image/x-icon")


@cache_control(no_cache=True)  # browsers check for a new worker on each visit
def service_worker(request):
    response = _static_file("js/sw.js", "text/javascript")
    response["Service-Worker-Allowed"] = "/"
    return response


def offline(request):
    """What the service worker shows when the network is gone: static, no user data; in the
    language of the pages that installed the worker (?lang=, config/static/js/sw.js)."""
    if (lang := request.GET.get("lang", "")) in dict(settings.LANGUAGES):
        translation.activate(lang)
        request.LANGUAGE_CODE = lang
    return render(request, "offline.html")


def _static_file(path: str, content_type: str) -> FileResponse:
    found = finders.find(path)
    if not found:
        raise Http404(path)
    return FileResponse(open(found, "rb"), content_type=content_type)
