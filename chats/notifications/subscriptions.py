"""Which devices of a rep receive notifications: subscribed from the web chat, one row per push endpoint."""
from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.signals import user_logged_out
from django.db import IntegrityError, transaction

from chats.errors import Conflict, DomainError
from chats.integration.addresses import is_internal
from chats.models import PushSubscription
from chats.notifications.push import push_enabled

MAX_ENDPOINT = 1000


def push_subscribe(*, user, endpoint: str, p256dh: str, auth: str, user_agent: str = "") -> tuple[PushSubscription, bool]:
    """Send this device's notifications to `user` from now on; returns (subscription, created).

    Upsert by endpoint: a browser keeps one endpoint per application server key, so the same
    endpoint again is the same device (its keys may be new); if another rep had signed in on
    that browser before, the device now belongs to the one signed in.
    """
    if not push_enabled():
        raise Conflict("push_off", "Notifications are not set up on this server; ask your administrator.")
    check_endpoint(endpoint)
    _check_key(p256dh, 65, "p256dh", prefix=b"\x04")
    _check_key(auth, 16, "auth")
    values = {"user": user, "p256dh": p256dh, "auth": auth, "device": device_label(user_agent)}
    try:
        with transaction.atomic():
            return PushSubscription.objects.update_or_create(endpoint=endpoint, defaults=values)
    except IntegrityError:  # the same device subscribed twice at once: the other request made the row
        return PushSubscription.objects.update_or_create(endpoint=endpoint, defaults=values)


def push_unsubscribe(*, user, endpoint: str) -> int:
    """This device of `user` receives no more notifications; returns how many rows were removed (0 or 1)."""
    deleted, _ = PushSubscription.objects.filter(user=user, endpoint=endpoint).delete()
    return deleted


def check_endpoint(endpoint: str) -> None:
    """An https URL of a push service; plain http and internal addresses only when
    PUSH_ALLOW_PRIVATE_ENDPOINTS is on (a test's push service on 127.0.0.1)."""
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > MAX_ENDPOINT:
        raise DomainError("invalid_subscription", f"The endpoint must be a URL of at most {MAX_ENDPOINT} characters.")
    parts = urlsplit(endpoint)
    private_ok = settings.PUSH_ALLOW_PRIVATE_ENDPOINTS
    if parts.scheme not in (("https", "http") if private_ok else ("https",)) or not parts.hostname:
        raise DomainError("invalid_subscription", "The endpoint must be an https URL of a push service.")
    try:
        internal = is_internal(parts.hostname)  # the rule webhooks' addresses follow (chats/integration/addresses.py)
    except ValueError:
        return  # a name: push services are named hosts
    if not private_ok and internal:
        raise DomainError("invalid_subscription", "The endpoint must be a push service on the internet.")


def _check_key(value: str, size: int, name: str, prefix: bytes = b"") -> None:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)) if isinstance(value, str) else b""
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != size or not raw.startswith(prefix):
        raise DomainError("invalid_subscription", f"`{name}` is not the key a browser gives (base64url, {size} bytes).")


_BROWSERS = (("Edg/", "Edge"), ("SamsungBrowser/", "Samsung Internet"), ("Firefox/", "Firefox"),
             ("FxiOS/", "Firefox"), ("CriOS/", "Chrome"), ("Chrome/", "Chrome"), ("Safari/", "Safari"))
_SYSTEMS = (("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"), ("Windows", "Windows"),
            ("Macintosh", "Mac"), ("CrOS", "ChromeOS"), ("Linux", "Linux"))


def device_label(user_agent: str) -> str:
    """A readable name for the device, e.g. "Chrome on Android", from its User-Agent ("" when unknown)."""
    ua = re.sub(r"\s+", " ", user_agent or "")[:500]
    browser = next((name for token, name in _BROWSERS if token in ua), "")
    system = next((name for token, name in _SYSTEMS if token in ua), "")
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or ua[:60]


SESSION_KEY = "push_endpoint"


def _forget_on_sign_out(sender, request, user, **kwargs) -> None:
    """Signing out of the web chat turns this device's notifications off: a shared or handed-on
    device must not keep showing a rep's HCPs on its lock screen."""
    endpoint = request.session.get(SESSION_KEY) if request is not None and hasattr(request, "session") else None
    if user is not None and endpoint:
        push_unsubscribe(user=user, endpoint=endpoint)


user_logged_out.connect(_forget_on_sign_out, dispatch_uid="push-forget-on-sign-out")
