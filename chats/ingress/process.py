"""Processing stored webhook bodies: each body's HCP messages, reactions, statuses, template updates
and HCP preferences, fanned out to their owners. Idempotent; called by the drain (chats/ingress/queue.py)."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from chats.conversations.reactions import hcp_reaction_apply
from chats.delivery.reactions import reaction_status_apply
from chats.delivery.transitions import status_apply
from chats.inbox.identity import identity_learn_from_statuses
from chats import phases
from chats.ingress.messages import inbound_messages_ingest
from chats.models import WebhookEvent
from chats.whatsapp.parser import PayloadError, parse_body
from consent.services import consent_apply_preference
from templates_app.services import template_status_apply

logger = logging.getLogger(__name__)


@dataclass
class ProcessOutcome:
    """What became of one stored body: done, given up (`given_up` says why) or failed (`error`)."""

    given_up: str = ""
    error: str = ""


def webhook_events_process(*, events: list[WebhookEvent]) -> dict[int, ProcessOutcome]:
    """Ingest every message, status and template update of a drain's stored bodies. Idempotent.

    Called by the drain (chats/ingress/queue.py), which counts attempts and marks each event
    processed, given up (a signed body that is not JSON will never become JSON) or failed.
    The HCP messages of all bodies are ingested together (`inbound_messages_ingest`); if that
    fails, each message alone, so one bad item holds back only its own body.
    """
    outcomes, parsed = {}, {}
    with phases.phase("parse"):
        for event in events:
            try:
                parsed[event.pk] = parse_body(bytes(event.body))
            except PayloadError as exc:
                outcomes[event.pk] = ProcessOutcome(given_up=str(exc))
    # When Rapport received each message: its body's receipt (policy.answered_at compares it).
    received = {m.wamid: event.received_at for event in events if event.pk in parsed
                for m in parsed[event.pk].messages if event.received_at is not None}
    together = False
    try:
        inbound_messages_ingest(incoming=[m for body in parsed.values() for m in body.messages], received=received)
        together = True
    except Exception:  # noqa: BLE001 - retried one by one below, where each failure is recorded
        logger.exception("%s stored bodies could not be ingested together; one message at a time", len(parsed))
    try:  # a status that names the HCP both ways teaches the account its user id; never holds the batch back
        identity_learn_from_statuses(pairs={(s.recipient_id, s.recipient_user_id) for body in parsed.values()
                                            for s in body.statuses if s.recipient_id and s.recipient_user_id})
    except Exception:  # noqa: BLE001 - learnt again from the next status that carries both
        logger.exception("could not learn WhatsApp user ids from statuses")
    for event_id, body in parsed.items():
        messages = [] if together else [(m, lambda m: inbound_messages_ingest(incoming=[m], received=received))
                                        for m in body.messages]
        failures = []
        for item, handler in (
            messages
            + [(s, lambda s: reaction_status_apply(update=s) or status_apply(update=s)) for s in body.statuses]
            + [(r, lambda r: hcp_reaction_apply(update=r)) for r in body.reactions]
            + [(t, lambda t: template_status_apply(update=t)) for t in body.template_updates]
            + [(p, lambda p: consent_apply_preference(wa_id=p.wa_id, user_id=p.user_id, value=p.value,
                                                      said_at=p.timestamp, category=p.category, detail=p.detail))
               for p in body.preferences]
        ):
            try:
                handler(item)
            except Exception as exc:  # one bad item must not stop the rest of the batch
                logger.exception("webhook event %s: could not process %r", event_id, item)
                failures.append(f"{type(item).__name__} {getattr(item, 'wamid', getattr(item, 'name', ''))}: {exc!r}")
        outcomes[event_id] = ProcessOutcome(error="\n".join(failures))
    return outcomes
