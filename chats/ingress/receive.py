"""A webhook from Meta, received: verified and stored durably before anything is parsed.

Processing (chats/ingress/process.py) runs after commit, in a drain (chats/ingress/queue.py),
and may run any number of times: one row per wamid comes from the database's unique
constraint, and statuses only move forward (chats/delivery/transitions.py).
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from chats.ingress.queue import drain_request
from chats.models import WebhookEvent, WhatsAppBusinessAccount
from chats.models.sql import bulk_insert, is_postgresql
from chats.process_cache import ProcessCache
from chats.whatsapp import signatures


def _load_waba_secrets() -> dict[str, str]:
    """Meta's WABA id -> that WABA's own app secret, for the WABAs that have one."""
    return dict(WhatsAppBusinessAccount.objects.exclude(app_secret="").values_list("waba_id", "app_secret"))


# The WABAs' own secrets, read at most every 10 s per process: the lookup cost a third of a
# webhook's acknowledgement. Saving or deleting a WABA forgets them at once in the process
# that did it (the receivers below); other processes see the change within the TTL.
_waba_secrets = ProcessCache(_load_waba_secrets, ttl=10.0)
forget_secrets = _waba_secrets.forget
post_save.connect(_waba_secrets.forget, sender=WhatsAppBusinessAccount, weak=False,
                  dispatch_uid="signatures-waba-save")
post_delete.connect(_waba_secrets.forget, sender=WhatsAppBusinessAccount, weak=False,
                    dispatch_uid="signatures-waba-delete")


def candidate_secrets() -> list[str]:
    """Every secret a genuine body may be signed with: the environment's and each WABA's own."""
    secrets = [settings.WHATSAPP_APP_SECRET] if settings.WHATSAPP_APP_SECRET else []
    return secrets + [s for s in _waba_secrets.get().values() if s not in secrets]


def secrets_for(body: bytes) -> list[str]:
    """The secrets that may sign `body`: a WABA's own secret replaces the environment's for that
    WABA's webhooks. The WABAs are read from the body's `entry[].id` only when some WABA has a
    secret of its own (else every body takes the environment's, with no parsing); a body whose
    entries name WABAs of different secrets has none; one that names none (not JSON Meta sends)
    may take any, and is given up when processed."""
    own = _waba_secrets.get()
    environment = settings.WHATSAPP_APP_SECRET
    if not own:
        return [environment] if environment else []
    wabas = _entry_wabas(body)
    if not wabas:
        return candidate_secrets()
    secrets = {own.get(waba, environment) for waba in wabas}
    return list(secrets) if len(secrets) == 1 and "" not in secrets else []


def _entry_wabas(body: bytes) -> set[str]:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return set()
    entries = data.get("entry") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        return set()
    return {str(entry.get("id")) for entry in entries if isinstance(entry, dict) and entry.get("id") is not None}


@dataclass
class ReceiveOutcome:
    status_code: int
    detail: str
    event: WebhookEvent | None = None


@dataclass(frozen=True)
class Delivery:
    """One POSTed webhook: the raw bytes Meta signed and its X-Hub-Signature-256 header."""

    body: bytes
    signature: str | None


def webhook_receive(*, body: bytes, signature: str | None) -> ReceiveOutcome:
    """Verify one POSTed body, store it durably and queue its processing after commit."""
    return webhook_receive_many(deliveries=[Delivery(body, signature)])[0]


def webhook_receive_many(*, deliveries: Sequence[Delivery]) -> list[ReceiveOutcome]:
    """Verify each delivery and store the genuine ones together; one outcome per delivery, in order.

    Missing signature: 401; wrong: 403; nothing is stored for either. The genuine bodies
    are stored with one INSERT in one transaction, and one drain request follows its
    commit. A database error propagates with nothing stored (chats/ingress/ack.py answers 503).
    """
    outcomes: list[ReceiveOutcome | None] = [_refusal(delivery) for delivery in deliveries]
    genuine = [i for i, outcome in enumerate(outcomes) if outcome is None]
    if genuine:
        # On PostgreSQL the rows go in one INSERT, atomic on its own: no BEGIN and COMMIT round trips around it
        # (a third of a small batch's time). Elsewhere bulk_create may take several statements: a transaction.
        with nullcontext() if is_postgresql() else transaction.atomic():
            events = bulk_insert(WebhookEvent, [WebhookEvent(body=deliveries[i].body) for i in genuine])
            # robust: in eager mode processing runs here, and its failure must not turn Meta's 200 into a 500
            transaction.on_commit(drain_request, robust=True)
        for i, event in zip(genuine, events):
            outcomes[i] = ReceiveOutcome(200, "stored", event)
    return outcomes


def _refusal(delivery: Delivery) -> ReceiveOutcome | None:
    if not delivery.signature:
        return ReceiveOutcome(401, "missing X-Hub-Signature-256")
    if not signatures.is_valid(delivery.body, delivery.signature, secrets=secrets_for(delivery.body)):
        return ReceiveOutcome(403, "signature does not match")
    return None
