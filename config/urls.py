import os

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.decorators.cache import cache_control
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from chats.admin import dashboard as admin_dashboard
from chats.devtools import views as devtools_views
from chats.ingress.views import whatsapp_webhook
from config import pwa, views
from config.login_throttle import ThrottledLoginView
from media_links.views import open_link

admin.site.site_header = "Rapport administration"
admin.site.site_title = "Rapport admin"
admin.site.index_title = "Run Rapport"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("manifest.webmanifest", pwa.manifest, name="pwa-manifest"),
    path("favicon.ico", pwa.favicon, name="favicon"),
    path("sw.js", pwa.service_worker, name="pwa-service-worker"),
    path("offline/", pwa.offline, name="pwa-offline"),
    # The web chat scripts' translations (locale/*/LC_MESSAGES/djangojs.po); pages ask for it with
    # ?v=<language>, so a cached copy never speaks another language than the page.
    path("jsi18n/", cache_control(max_age=3600, private=True)(JavaScriptCatalog.as_view()), name="javascript-catalog"),
    path("accounts/login/", ThrottledLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/dashboard/", admin.site.admin_view(admin_dashboard.dashboard_view), name="admin-dashboard"),
    path("admin/", admin.site.urls),
    path("l/<str:token>", open_link, name="weblink-open"),
    path("api/v1/", include("chats.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("webhooks/whatsapp/", whatsapp_webhook, name="whatsapp-webhook"),
    path("simulator/", devtools_views.simulator, name="simulator"),
    path("", include("chats.web.urls")),
]

if os.environ.get("RAPPORT_BENCH_ENDPOINTS") == "1":
    # Benchmark reference (docs/performance.md): Django's request handling doing nothing. The
    # webhook's own floor, /bench/floor/, is answered before Django (chats/ingress/ack.py).
    from django.http import HttpResponse
    from django.views.decorators.csrf import csrf_exempt

    urlpatterns.append(path("bench/django-floor/", csrf_exempt(lambda request: HttpResponse("ok")),
                            name="bench-django-floor"))
