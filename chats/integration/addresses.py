"""Where Rapport may post webhooks: never to loopback, private, link-local or otherwise internal addresses
(a URL that reaches the database or a cloud metadata service), unless INTEGRATION_WEBHOOK_ALLOW_PRIVATE.

Checked when a URL is subscribed and again before every delivery, since what a name resolves to may change;
the delivery then connects to the address the check approved (`Pinned`), with the URL's host name in the
Host header and in TLS (SNI and the certificate check), so a second lookup cannot send it elsewhere.
"""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings


class AddressRefused(ValueError):
    """The URL is not one Rapport posts to; the message says why."""


def is_internal(address: str) -> bool:
    """Loopback, private, link-local, reserved or multicast (an IPv4 address written as IPv6 included)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


@dataclass(frozen=True)
class Pinned:
    """Where to post a webhook: the checked address, and the URL's own name for the Host header and TLS."""

    url: str  # the URL with its host replaced by the checked address
    host_header: str  # the URL's host (and port, when not the scheme's own)
    server_name: str  # the name TLS sends (SNI) and checks the certificate against


def check_webhook_url(url: str) -> Pinned:
    """Raise AddressRefused unless `url` is http(s) with a host that resolves, only to public addresses
    (any address when INTEGRATION_WEBHOOK_ALLOW_PRIVATE is on). Returns the first address to connect to,
    so the post goes where the check looked (a name resolved twice could answer differently the second time)."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AddressRefused("Give an http or https URL with a host name.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        found = list(dict.fromkeys(info[4][0] for info in socket.getaddrinfo(parts.hostname, port,
                                                                             type=socket.SOCK_STREAM)))
    except (OSError, ValueError, UnicodeError) as exc:
        raise AddressRefused(f"{parts.hostname} does not resolve ({exc}).") from None
    if not settings.INTEGRATION_WEBHOOK_ALLOW_PRIVATE:
        internal = sorted(address for address in found if is_internal(address))
        if internal:
            raise AddressRefused(f"{parts.hostname} resolves to {', '.join(internal)}, a loopback or private "
                                 f"address; Rapport posts only to public addresses "
                                 f"(INTEGRATION_WEBHOOK_ALLOW_PRIVATE is off).")
    address = found[0].split("%", 1)[0]
    literal = f"[{address}]" if ":" in address else address
    netloc = literal + (f":{parts.port}" if parts.port else "")
    host_header = parts.netloc.rpartition("@")[2]
    return Pinned(url=urlunsplit(parts._replace(netloc=netloc)), host_header=host_header,
                  server_name=parts.hostname)
