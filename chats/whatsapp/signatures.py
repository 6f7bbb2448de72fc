"""X-Hub-Signature-256: HMAC-SHA256 of the raw body with the app secret."""
import hashlib
import hmac
from collections.abc import Iterable

PREFIX = "sha256="


def sign(body: bytes, secret: str) -> str:
    """The header value Meta would send for `body` signed with `secret`."""
    return PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def is_valid(body: bytes, header: str, *, secrets: Iterable[str]) -> bool:
    """True when `header` is a sha256 HMAC of `body` under one of `secrets` (constant-time compare)."""
    if not header or not header.startswith(PREFIX):
        return False
    given = header.encode()
    # compare against every secret, without stopping early, so timing says nothing about which one matched
    matched = False
    for secret in secrets:
        matched |= hmac.compare_digest(sign(body, secret).encode(), given)
    return matched
