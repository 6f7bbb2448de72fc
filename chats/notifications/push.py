"""Sending one notification to every device of a rep, over Web Push (RFC 8030, 8291, 8292).

The payload is encrypted for each device with its own keys (aes128gcm, by pywebpush with
http_ece) and signed for the push service with the VAPID key pair from the settings. A device
the push service no longer knows (404 or 410) is forgotten at once; any other failure is
logged and the subscription kept, so a push service that is down for a while loses nothing
but that one notification.
"""
from __future__ import annotations

import base64
import json
import logging
from dataclasses import asdict, dataclass

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.utils import timezone
from py_vapid import Vapid
from pywebpush import WebPushException, webpush

from chats.models import PushSubscription

logger = logging.getLogger(__name__)

GONE = (404, 410)  # the push service forgot this subscription: so do we


@dataclass(frozen=True)
class Notification:
    """What a device shows: the service worker (config/static/js/sw.js) reads these fields."""

    title: str
    body: str
    tag: str  # a newer notification with the same tag replaces the older one
    url: str  # opened (or focused) when the rep taps it
    kind: str
    urgency: str = "normal"  # RFC 8030: "high" wakes a sleeping phone at once
    ttl: int = 12 * 3600  # seconds the push service keeps it for a device that is offline


def push_enabled() -> bool:
    """Push is on when both VAPID keys and the subject are configured."""
    return bool(settings.VAPID_PUBLIC_KEY and settings.VAPID_PRIVATE_KEY and settings.VAPID_SUBJECT)


def vapid_key_pair() -> tuple[str, str]:
    """A fresh (public, private) VAPID pair, base64url without padding: the public key as the
    uncompressed P-256 point browsers take as `applicationServerKey`, the private key as its 32 bytes."""
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    private = key.private_numbers().private_value.to_bytes(32, "big")
    return _b64url(public), _b64url(private)


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def push_to_user(*, user_id: int, notification: Notification) -> dict[str, int]:
    """Send `notification` to each of the user's devices; returns {"sent", "removed", "failed"}."""
    counts = {"sent": 0, "removed": 0, "failed": 0}
    if not push_enabled():
        return counts
    data = json.dumps({k: v for k, v in asdict(notification).items() if k not in ("ttl", "urgency")})
    for subscription in PushSubscription.objects.filter(user_id=user_id):
        counts[_push_one(subscription, data, notification)] += 1
    return counts


def _push_one(subscription: PushSubscription, data: str, notification: Notification) -> str:
    try:
        webpush(
            subscription_info={"endpoint": subscription.endpoint,
                               "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth}},
            data=data,
            vapid_private_key=Vapid.from_string(settings.VAPID_PRIVATE_KEY),
            vapid_claims={"sub": settings.VAPID_SUBJECT},  # a new dict each time: pywebpush adds aud and exp
            ttl=notification.ttl,
            headers={"Urgency": notification.urgency},
            timeout=settings.PUSH_TIMEOUT_SECONDS,
        )
    except WebPushException as exc:
        status = exc.response.status_code if exc.response is not None else None
        if status in GONE:
            PushSubscription.objects.filter(pk=subscription.pk).delete()
            logger.info("push subscription %s is gone (%s): removed", subscription.pk, status)
            return "removed"
        logger.warning("push to subscription %s failed (%s): kept", subscription.pk, status or exc)
        return "failed"
    except (requests.RequestException, ValueError) as exc:  # unreachable service, a malformed stored key
        logger.warning("push to subscription %s failed (%s): kept", subscription.pk, exc)
        return "failed"
    PushSubscription.objects.filter(pk=subscription.pk).update(last_used_at=timezone.now())
    return "sent"
