"""Where Rapport may post webhooks: never to loopback, private, link-local or otherwise internal addresses
(a URL that reaches the database or a cloud metadata service), unless INTEGRATION_WEBHOOK_ALLOW_PRIVATE.

Checked when a URL is subscribed and again before every delivery, since what a name resolves to may change.
"""
from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings


class AddressRefused(ValueError):
    """The URL is not one Rapport posts to; the message says why."""


def _is_internal(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def check_webhook_url(url: str) -> None:
    """Raise AddressRefused unless `url` is http(s) with a host that resolves, only to public addresses
    (any address when INTEGRATION_WEBHOOK_ALLOW_PRIVATE is on)."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AddressRefused("Give an http or https URL with a host name.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        found = {info[4][0] for info in socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)}
    except (OSError, ValueError, UnicodeError) as exc:
        raise AddressRefused(f"{parts.hostname} does not resolve ({exc}).") from None
    if settings.INTEGRATION_WEBHOOK_ALLOW_PRIVATE:
        return
    internal = sorted(address for address in found if _is_internal(address))
    if internal:
        raise AddressRefused(f"{parts.hostname} resolves to {', '.join(internal)}, a loopback or private address; "
                             f"Rapport posts only to public addresses (INTEGRATION_WEBHOOK_ALLOW_PRIVATE is off).")
