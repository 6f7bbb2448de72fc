"""Failed sign-ins are counted per (username, client IP) in the cache; past the limit the
login page and the token endpoint answer 429 until the window passes (docs/security.md).

Counting per username *and* IP keeps one attacker from locking a rep out from
everywhere, while still stopping password guessing against that rep from that address.
"""
from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.http import HttpResponse

MESSAGE = "Too many failed sign-in attempts. Wait a few minutes and try again."


def _key(*, username: str, ip: str) -> str:
    digest = hashlib.sha256(f"{username.strip().lower()}|{ip}".encode()).hexdigest()
    return f"login-failures:{digest}"


def client_ip(request) -> str:
    # REMOTE_ADDR only: X-Forwarded-For is client-controlled unless the proxy is trusted (docs/operations.md)
    return request.META.get("REMOTE_ADDR", "")


def login_blocked(*, username: str, ip: str) -> bool:
    return cache.get(_key(username=username, ip=ip), 0) >= settings.LOGIN_MAX_FAILURES


def login_failed(*, username: str, ip: str) -> None:
    key = _key(username=username, ip=ip)
    if cache.add(key, 1, timeout=settings.LOGIN_FAILURE_WINDOW_SECONDS):
        return
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=settings.LOGIN_FAILURE_WINDOW_SECONDS)


def login_succeeded(*, username: str, ip: str) -> None:
    cache.delete(_key(username=username, ip=ip))


class ThrottledLoginView(auth_views.LoginView):
    """Django's login page, refusing with 429 once a (username, IP) has failed too often."""

    def post(self, request, *args, **kwargs):
        username, ip = request.POST.get("username", ""), client_ip(request)
        if login_blocked(username=username, ip=ip):
            return HttpResponse(MESSAGE, status=429, content_type="text/plain; charset=utf-8")
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        login_failed(username=self.request.POST.get("username", ""), ip=client_ip(self.request))
        return super().form_invalid(form)

    def form_valid(self, form):
        login_succeeded(username=self.request.POST.get("username", ""), ip=client_ip(self.request))
        return super().form_valid(form)
