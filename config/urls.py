from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from chats import views as chat_views
from chats.whatsapp.webhooks import whatsapp_webhook
from config import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("webhooks/whatsapp/", whatsapp_webhook, name="whatsapp-webhook"),
    path("simulator/", chat_views.simulator, name="simulator"),
]
