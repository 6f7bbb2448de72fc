"""Request rates per token and per client address on the endpoints worth limiting (sends,
searches), configurable in API_THROTTLE_RATES; every answer under a limit carries the
rate-limit headers, a refusal is 429 `throttled` with `Retry-After` (docs/api.md, "Rate limits").

A view names its scope per method (`throttle_scopes = {"POST": "send"}`). Rates are read at
request time, so settings (and tests) can change them without a restart of the class.
"""
from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from config.login_throttle import client_ip

LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


class _ScopeThrottle(SimpleRateThrottle):
    by = ""

    def __init__(self):  # the rate depends on the view's scope: read in allow_request
        pass

    def allow_request(self, request, view):
        self.scope = getattr(view, "throttle_scopes", {}).get(request.method)
        self.rate = settings.API_THROTTLE_RATES.get(f"{self.scope}.{self.by}") if self.scope else None
        if not self.rate:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        allowed = super().allow_request(request, view)
        _note_limit(request, limit=self.num_requests, remaining=self.num_requests - len(self.history),
                    reset=self.duration - (self.now - self.history[-1]) if self.history else self.duration)
        return allowed

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": f"{self.scope}.{self.by}", "ident": self.ident(request)}


class PerTokenThrottle(_ScopeThrottle):
    """Per user (the token's or the session's)."""

    by = "user"

    def ident(self, request) -> str:
        return str(request.user.pk) if request.user and request.user.is_authenticated else "anon:" + client_ip(request)


class PerAddressThrottle(_ScopeThrottle):
    """Per client address, whoever signs in from it."""

    by = "ip"

    def ident(self, request) -> str:
        return client_ip(request)


def _note_limit(request, *, limit: int, remaining: int, reset: float) -> None:
    """Keep the tightest limit of the request's throttles for its headers (config/middleware.py adds them)."""
    django_request = getattr(request, "_request", request)
    noted = getattr(django_request, "rate_limit", None)
    if noted is None or remaining < noted[1]:
        django_request.rate_limit = (limit, max(remaining, 0), max(int(reset + 0.999), 0))
