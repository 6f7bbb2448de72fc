from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from chats import views as chat_views
from chats.admin import dashboard as admin_dashboard
from chats.whatsapp.webhooks import whatsapp_webhook
from config import views
from media_links.views import open_link

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/dashboard/", admin.site.admin_view(admin_dashboard.dashboard_view), name="admin-dashboard"),
    path("admin/", admin.site.urls),
    path("l/<str:token>", open_link, name="weblink-open"),
    path("api/v1/", include("chats.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("webhooks/whatsapp/", whatsapp_webhook, name="whatsapp-webhook"),
    path("simulator/", chat_views.simulator, name="simulator"),
]
