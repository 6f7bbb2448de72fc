"""Integrations' credentials: creating one with its scopes, its token (shown once, kept as a digest),
rotating and revoking it, and the webhook subscriptions with their signing secrets. Every change is audited.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from chats.compliance.audit import audit
from chats.errors import DomainError
from chats.integration.addresses import AddressRefused, check_webhook_url
from chats.integration.feed import CHANGE_TYPES, SAFETY_CHANGE_TYPES, latest_seq
from chats.models import AuditEvent, Integration, WebhookSubscription

SCOPES = tuple(Integration.Scope.values)
TOKEN_PREFIX = "rpi_"
TOKEN_MAX_LENGTH = 100
WEBHOOK_SUBSCRIPTIONS_MAX = 20


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> tuple[str, str]:
    """(lookup prefix, whole token): 256 bits of secret behind a short public prefix."""
    prefix = secrets.token_hex(6)
    return prefix, f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"


def _check_scopes(scopes) -> list[str]:
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise DomainError("invalid", f"Unknown scope(s): {', '.join(unknown)}. Scopes: {', '.join(SCOPES)}.")
    return sorted(set(scopes))


def _issue(integration: Integration) -> str:
    prefix, token = _new_token()
    integration.token_prefix, integration.token_digest = prefix, _digest(token)
    integration.token_issued_at, integration.revoked_at = timezone.now(), None
    integration.save(update_fields=["token_prefix", "token_digest", "token_issued_at", "revoked_at"])
    return token


def _audit(*, integration: Integration, actor, action: str, **details) -> None:
    audit(kind=AuditEvent.Kind.INTEGRATION_CREDENTIAL, actor=actor, integration=integration.name,
          integration_id=integration.pk, action=action, **details)


@transaction.atomic
def integration_create(*, name: str, scopes: list[str], actor=None) -> tuple[Integration, str]:
    """A new integration with its own user (who cannot sign in) and its first token, returned this once."""
    name = (name or "").strip()
    if not name:
        raise DomainError("invalid", _("Give the integration a name."))
    if Integration.objects.filter(name=name).exists():
        raise DomainError("invalid", f"An integration named {name!r} exists already.")
    username = f"integration.{slugify(name)[:120] or 'crm'}"
    User = get_user_model()
    while User.objects.filter(username=username).exists():
        username = f"{username[:130]}.{secrets.token_hex(2)}"
    user = User(username=username, first_name=name[:150], is_active=False)
    user.set_unusable_password()
    user.save()
    integration = Integration.objects.create(name=name, user=user, scopes=_check_scopes(scopes))
    token = _issue(integration)
    _audit(integration=integration, actor=actor, action="created", scopes=integration.scopes)
    return integration, token


@transaction.atomic
def integration_scopes_set(*, integration: Integration, scopes: list[str], actor) -> Integration:
    before = list(integration.scopes)
    integration.scopes = _check_scopes(scopes)
    if before != integration.scopes:
        integration.save(update_fields=["scopes"])
        _audit(integration=integration, actor=actor, action="scopes_changed", scopes=integration.scopes, previous=before)
    return integration


@transaction.atomic
def integration_token_rotate(*, integration: Integration, actor) -> str:
    """A new token, returned this once; the old one stops working at once."""
    token = _issue(integration)
    _audit(integration=integration, actor=actor, action="token_rotated")
    return token


@transaction.atomic
def integration_token_revoke(*, integration: Integration, actor) -> None:
    """The token stops working; the integration, its history and its webhooks stay (rotate to resume)."""
    integration.token_prefix, integration.token_digest, integration.revoked_at = None, "", timezone.now()
    integration.save(update_fields=["token_prefix", "token_digest", "revoked_at"])
    integration.subscriptions.update(is_active=False)
    _audit(integration=integration, actor=actor, action="token_revoked")


def integration_for_token(*, token) -> Integration | None:
    """The active integration whose token this is (with its user), else None. The prefix finds the row,
    the digests compare in constant time."""
    if not isinstance(token, str) or not token.startswith(TOKEN_PREFIX) or len(token) > TOKEN_MAX_LENGTH:
        return None
    prefix = token[len(TOKEN_PREFIX):].split("_", 1)[0]
    integration = Integration.objects.select_related("user").filter(token_prefix=prefix, revoked_at=None).first()
    if integration is None or not hmac.compare_digest(integration.token_digest, _digest(token)):
        return None
    return integration


# --- webhook subscriptions -----------------------------------------------------------


def _check_event_types(event_types) -> list[str]:
    event_types = sorted(set(event_types or []))
    unknown = sorted(set(event_types) - set(CHANGE_TYPES))
    if not event_types or unknown:
        raise DomainError("invalid", f"Give event types among {', '.join(CHANGE_TYPES)}"
                                     + (f" (unknown: {', '.join(unknown)})." if unknown else "."))
    return event_types


def _new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@transaction.atomic
def webhook_subscribe(*, integration: Integration, url: str, event_types: list[str], actor
                      ) -> tuple[WebhookSubscription, str]:
    """Subscribe `url` to changes of `event_types` from now on; returns it with its signing secret (`whsec_…`),
    shown this once. A loopback or private address is refused (DomainError `webhook_url_refused`); an
    integration keeps at most WEBHOOK_SUBSCRIPTIONS_MAX (each one is posted every change it names)."""
    try:
        check_webhook_url(url)
    except AddressRefused as exc:
        raise DomainError("webhook_url_refused", str(exc)) from None
    event_types = _check_event_types(event_types)
    if set(event_types) & set(SAFETY_CHANGE_TYPES) and Integration.Scope.SAFETY_READ not in integration.scopes:
        raise DomainError("scope_required", _("Safety-case changes need the `safety:read` scope."))
    if integration.subscriptions.count() >= WEBHOOK_SUBSCRIPTIONS_MAX:
        raise DomainError("too_many_subscriptions", f"An integration keeps at most {WEBHOOK_SUBSCRIPTIONS_MAX} "
                                                    "webhook subscriptions; delete one first.")
    secret = _new_secret()
    subscription = WebhookSubscription.objects.create(
        integration=integration, url=url, event_types=event_types, secret=secret,
        fed_through=latest_seq())
    _audit(integration=integration, actor=actor, action="webhook_subscribed", url=url,
           event_types=subscription.event_types, subscription=subscription.pk)
    return subscription, secret


@transaction.atomic
def webhook_unsubscribe(*, subscription: WebhookSubscription, actor) -> None:
    """The subscription ends at once, with its delivery log (pending deliveries are not sent)."""
    integration = subscription.integration
    _audit(integration=integration, actor=actor, action="webhook_unsubscribed", url=subscription.url,
           event_types=subscription.event_types, subscription=subscription.pk)
    subscription.delete()


@transaction.atomic
def webhook_secret_rotate(*, subscription: WebhookSubscription, actor) -> str:
    """A new signing secret, returned this once; every attempt from now on (retries too) is signed with it."""
    secret = _new_secret()
    WebhookSubscription.objects.filter(pk=subscription.pk).update(secret=secret)
    subscription.secret = secret
    _audit(integration=subscription.integration, actor=actor, action="webhook_secret_rotated",
           url=subscription.url, subscription=subscription.pk)
    return secret


def integration_read_record(*, integration: Integration, what: str, count: int, thread=None) -> None:
    """An integration read conversations (a page of threads, messages or changes): one audit row per call."""
    if count:
        audit(kind=AuditEvent.Kind.INTEGRATION_READ, actor=integration.user, thread=thread,
              integration=integration.name, what=what, count=count)
