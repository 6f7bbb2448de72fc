"""X-Hub-Signature-256: HMAC-SHA256 of the raw body with the app secret."""
import hashlib
import hmac

from django.conf import settings
from django.db.models.signals import post_delete, post_save

from chats.process_cache import ProcessCache

PREFIX = "sha256="


def sign(body: bytes, secret: str) -> str:
    """The header value Meta would send for `body` signed with `secret`."""
    return PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _load_waba_secrets() -> list[str]:
    from chats.models import WhatsAppBusinessAccount

    return list(WhatsAppBusinessAccount.objects.exclude(app_secret="").values_list("app_secret", flat=True))


# The WABAs' own secrets, read at most every 10 s per process: the lookup cost a third of a
# webhook's acknowledgement. Saving or deleting a WABA forgets them at once in the process
# that did it (the receivers below); other processes see the change within the TTL.
_waba_secrets = ProcessCache(_load_waba_secrets, ttl=10.0)
forget_secrets = _waba_secrets.forget


def candidate_secrets() -> list[str]:
    """Every secret a genuine body may be signed with.

    The body must be verified before it is parsed, so we cannot yet know which
    WABA it is for: a match with the global secret or any WABA's own secret
    is accepted.
    """
    secrets = [settings.WHATSAPP_APP_SECRET] if settings.WHATSAPP_APP_SECRET else []
    return secrets + [s for s in _waba_secrets.get() if s not in secrets]


def is_valid(body: bytes, header: str) -> bool:
    """True when `header` is a sha256 HMAC of `body` under one of our secrets (constant-time compare)."""
    if not header or not header.startswith(PREFIX):
        return False
    given = header.encode()
    # compare against every secret, without stopping early, so timing says nothing about which one matched
    matched = False
    for secret in candidate_secrets():
        matched |= hmac.compare_digest(sign(body, secret).encode(), given)
    return matched


post_save.connect(_waba_secrets.forget, sender="chats.WhatsAppBusinessAccount", weak=False,
                  dispatch_uid="signatures-waba-save")
post_delete.connect(_waba_secrets.forget, sender="chats.WhatsAppBusinessAccount", weak=False,
                    dispatch_uid="signatures-waba-delete")
