"""Failed sign-ins are counted in the cache, per (username, client IP) and per client IP; past
either limit the login page and the token endpoint answer 429 with `Retry-After` until the
window passes (docs/security.md).

Per username *and* IP keeps one attacker from locking a rep out from everywhere while still
stopping password guessing against that rep from that address; per IP alone stops one address
trying many usernames (LOGIN_MAX_FAILURES_PER_IP).
"""
from __future__ import annotations

import hashlib
import math
import time

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.http import HttpResponse

MESSAGE = "Too many failed sign-in attempts. Wait a few minutes and try again."


def _key(*, username: str | None, ip: str) -> str:
    who = f"{username.strip().lower()}|{ip}" if username is not None else f"*|{ip}"
    return "login-failures:" + hashlib.sha256(who.encode()).hexdigest()


def client_ip(request) -> str:
    # REMOTE_ADDR only: X-Forwarded-For is client-controlled unless the proxy is trusted (docs/operations.md)
    return request.META.get("REMOTE_ADDR", "")


def _retry_after(key: str, limit: int) -> int | None:
    """Seconds until `key`'s window ends, when its failures reached `limit`; else None."""
    counted = cache.get_many([key, key + ":since"])
    if counted.get(key, 0) < limit:
        return None
    since = counted.get(key + ":since", time.time())
    return max(1, math.ceil(since + settings.LOGIN_FAILURE_WINDOW_SECONDS - time.time()))


def login_blocked(*, username: str, ip: str) -> int | None:
    """None when a sign-in may be tried; else the seconds to wait (for `Retry-After`)."""
    waits = [w for w in (_retry_after(_key(username=username, ip=ip), settings.LOGIN_MAX_FAILURES),
                         _retry_after(_key(username=None, ip=ip), settings.LOGIN_MAX_FAILURES_PER_IP)) if w]
    return max(waits) if waits else None


def _count(key: str) -> None:
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    if cache.add(key, 1, timeout=window):
        cache.set(key + ":since", time.time(), timeout=window)
        return
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window)
        cache.set(key + ":since", time.time(), timeout=window)


def login_failed(*, username: str, ip: str) -> None:
    _count(_key(username=username, ip=ip))
    _count(_key(username=None, ip=ip))


def login_succeeded(*, username: str, ip: str) -> None:
    cache.delete(_key(username=username, ip=ip))  # the address's own count stands: it tried other names


class ThrottledLoginView(auth_views.LoginView):
    """Django's login page, refusing with 429 (and `Retry-After`) once a (username, IP) or an IP failed too often."""

    def post(self, request, *args, **kwargs):
        username, ip = request.POST.get("username", ""), client_ip(request)
        if wait := login_blocked(username=username, ip=ip):
            response = HttpResponse(MESSAGE, status=429, content_type="text/plain; charset=utf-8")
            response["Retry-After"] = str(wait)
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        login_failed(username=self.request.POST.get("username", ""), ip=client_ip(self.request))
        return super().form_invalid(form)

    def form_valid(self, form):
        login_succeeded(username=self.request.POST.get("username", ""), ip=client_ip(self.request))
        return super().form_valid(form)
