"""Handing a queued message to WhatsApp: the send task's one use case.

The rate and the HCP's consent are checked, the hand-off is claimed (committed before
the HTTP call leaves, so a worker that dies mid-call never sends twice), and Meta's
answer, or the error that stopped the call, is recorded through chats/delivery/transitions.py.
"""
from __future__ import annotations

import logging
import random
import time

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from chats import jobs
from chats.delivery import transitions
from chats.delivery.transitions import TIMEOUT_UNKNOWN
from chats.models import Message
from chats.whatsapp import client, errors, ratelimit
from chats.whatsapp.backends import get_backend
from consent.selectors import opted_in_exists
from templates_app.rendering import render_template

logger = logging.getLogger(__name__)

Status = Message.Status
HANDOFF_MARGIN_SECONDS = 5.0  # beyond the rate wait and the HTTP timeout, before a hand-off is deemed dead


def _opted_out() -> errors.Failure:
    return errors.Failure("opted_out", "the HCP is not opted in any more; the message was not sent")


class RetryLater(Exception):
    """The send should be tried again after `countdown` seconds (the task re-queues it)."""

    def __init__(self, countdown: float, reason: str):
        super().__init__(reason)
        self.countdown = countdown
        self.reason = reason


def message_deliver(*, message_id: int) -> None:
    """Send one queued message through the backend and record the outcome.

    Raises RetryLater for rate limits and transient errors while attempts remain.
    """
    message = Message.objects.select_related(
        "account", "phone_number__waba", "template", "reply_to", "sender", "thread"
    ).annotate(hcp_opted_in=opted_in_exists()).get(pk=message_id)
    if message.status != Status.QUEUED or message.wamid:
        return  # already handed to Meta, or settled: never send twice
    if message.handoff_started_at is not None:
        _interrupted_handoff(message)  # a run of this task died (or is still) mid-call: never send twice
        return
    if not message.hcp_opted_in:  # checked again, atomically, by the claim below
        transitions.message_fail(message=message, failure=_opted_out())
        return
    number_id = message.phone_number.phone_number_id
    pair = ratelimit.pair_key(number_id, message.account.whatsapp_key)
    try:
        cooling = ratelimit.get_limiter().cooldown_remaining(pair)
    except ratelimit.LimiterUnavailable as exc:
        raise RetryLater(exc.wait, exc.reason) from exc
    if cooling > 0:
        if cooling > settings.WHATSAPP_RATE_MAX_WAIT_SECONDS:
            raise RetryLater(cooling, "pair rate cool-down with this HCP")
        time.sleep(cooling)
    attempt = message.send_attempts + 1
    backend = get_backend()
    if not transitions.handoff_claim(message):
        if message.status == Status.QUEUED and not message.wamid:
            if message.handoff_started_at is not None:
                _interrupted_handoff(message)  # another run of this task claimed it between our read and now
            else:  # the HCP opted out after our read, before the claim
                transitions.message_fail(message=message, failure=_opted_out())
        return
    try:
        outcome = backend.send(
            phone_number_id=number_id, access_token=message.phone_number.waba.effective_access_token,
            payload=payload_for(message),
        )
    except (ratelimit.RateLimited, client.GraphUnreachable, client.GraphOutcomeUnknown, client.GraphError) as exc:
        outcome = exc
    _on_live_session(lambda: _handoff_outcome_record(message, attempt, pair, backend, outcome))


def _handoff_outcome_record(message: Message, attempt: int, pair: str, backend, outcome) -> None:
    """Record what became of a claimed hand-off: Meta's answer, or the error that stopped it."""
    if isinstance(outcome, ratelimit.RateLimited):  # the request never left: our own limiter, or Redis out of reach
        transitions.handoff_release(message)
        raise RetryLater(outcome.wait, outcome.reason) from outcome
    elif isinstance(outcome, client.GraphUnreachable):
        transitions.handoff_release(message)  # the connection never opened: Meta has nothing
        _retry_or_fail(message, attempt, errors.Failure("unreachable", f"could not reach Meta: {outcome}"))
    elif isinstance(outcome, client.GraphOutcomeUnknown):
        # The request may have reached Meta: sending again could give the HCP the message twice.
        transitions.attempt_count(message)
        transitions.message_fail(message=message, failure=errors.Failure(
            TIMEOUT_UNKNOWN,
            "Meta did not answer in time; the message may or may not have arrived, so it was not sent again "
            f"({outcome})",
        ))
    elif isinstance(outcome, client.GraphError):
        transitions.handoff_release(message)  # Meta answered with an error: it did not take the message
        _on_graph_error(message, attempt, outcome, pair)
    else:
        transitions.mark_sent(message, outcome, backend)


SESSION_TRIES = 4


def _on_live_session(write):
    """Run `write`; if the database session drops under it, again on a new one (0.5, 1, 2 s apart).

    For Meta's answer to a hand-off, which only this process knows: the session sat idle
    through the HTTP call and may have been closed meanwhile (PostgreSQL restarted,
    pg_terminate_backend, an idle timeout). Giving up would leave the message claimed, to end
    `timeout_unknown` although Meta answered. A try that failed wrote nothing, unless the
    session died during its very COMMIT (see docs/whatsapp.md, "Faults", for that limit).
    """
    for tries in range(1, SESSION_TRIES + 1):
        try:
            return write()
        except (InterfaceError, OperationalError):
            if tries == SESSION_TRIES or connection.in_atomic_block:
                raise
            logger.warning("database session lost while recording a Graph call's outcome; trying on a new one")
            connection.close()  # the next query opens a new session
            time.sleep(0.5 * 2 ** (tries - 1))


def _handoff_deadline_seconds() -> float:
    return settings.WHATSAPP_RATE_MAX_WAIT_SECONDS + settings.WHATSAPP_TIMEOUT_SECONDS + HANDOFF_MARGIN_SECONDS


def _interrupted_handoff(message: Message) -> None:
    """A hand-off began and left no outcome: still running elsewhere, or its worker died mid-call."""
    age = (timezone.now() - message.handoff_started_at).total_seconds()
    deadline = _handoff_deadline_seconds()
    if age < deadline:
        raise RetryLater(deadline - age + 0.5, "another worker is handing this message to Meta")
    transitions.message_fail(message=message, failure=errors.Failure(
        TIMEOUT_UNKNOWN,
        "the worker stopped while handing this message to Meta; it may or may not have arrived, "
        "so it was not sent again",
    ))


def _on_graph_error(message: Message, attempt: int, exc: client.GraphError, pair: str) -> None:
    """What the error's class (chats/whatsapp/errors.py SEND_ERRORS) says: retry, or stop."""
    failure = errors.failure_from_meta(exc.code, exc.title, exc.details)
    action = errors.error_class(exc.code, exc.http_status).action
    if exc.code == errors.PAIR_RATE_LIMITED:
        ratelimit.get_limiter().set_cooldown(pair, settings.WHATSAPP_PAIR_BACKOFF_SECONDS * 2 ** (attempt - 1))
        _retry_or_fail(message, attempt, failure, base=settings.WHATSAPP_PAIR_BACKOFF_SECONDS)
    elif action is errors.Action.RETRY:
        _retry_or_fail(message, attempt, failure)
    else:
        if action is errors.Action.FIX_CONFIGURATION:
            logger.error("Meta refused message %s for a configuration an admin must fix: (%s) %s",
                         message.pk, exc.code, failure.failure_reason)
        if exc.code in errors.TEMPLATE_REFUSALS and message.template_id:
            # the template itself is paused or disabled at Meta: templates_app marks it (by task name)
            transaction.on_commit(lambda: jobs.enqueue(jobs.MARK_TEMPLATE_REFUSED, message.template_id, exc.code))
        transitions.attempt_count(message)
        transitions.message_fail(message=message, failure=failure)


def _retry_or_fail(message: Message, attempt: int, failure: errors.Failure, base: float | None = None) -> None:
    """Exponential backoff with jitter, bounded by WHATSAPP_SEND_MAX_ATTEMPTS."""
    transitions.attempt_count(message)
    if attempt >= settings.WHATSAPP_SEND_MAX_ATTEMPTS:
        failure.failure_reason = f"{failure.failure_reason} (gave up after {attempt} attempts)"
        transitions.message_fail(message=message, failure=failure)
        return
    base = settings.WHATSAPP_RETRY_BASE_SECONDS if base is None else base
    countdown = base * 2 ** (attempt - 1)
    raise RetryLater(countdown + random.uniform(0, base / 2), failure.failure_reason)


# --- request bodies ---------------------------------------------------------------------------

def payload_for(message: Message) -> dict:
    """The Cloud API body for a queued message (text, Meta template, Text Only template, media link)."""
    common = {
        **message.account.whatsapp_recipient,
        "reply_to_wamid": (message.reply_to.wamid or "") if message.reply_to_id else "",
        "callback_data": f"rapport:message:{message.pk}",
    }
    template = message.template
    if message.kind == Message.Kind.TEMPLATE and template is not None and template.kind == template.Kind.META:
        values = template_values(message)
        return client.template_payload(
            name=template.name, language=template.language,
            parameters=[(p, values.get(p, "")) for p in template.placeholders], **common,
        )
    return client.text_payload(body=message.body, **common)


def template_values(message: Message) -> dict[str, str]:
    """Each placeholder's value: what the send stored, else rendered now from the template's bindings."""
    values = {str(k): str(v) for k, v in (message.template_variables or {}).items()}
    if all(p in values for p in message.template.placeholders):
        return values
    media = message.media or {}
    extra = {f"media.{key}": media[key] for key in ("title", "url") if key in media}
    _, rendered = render_template(template=message.template, account=message.account, user=message.sender,
                                  phone_number=message.phone_number, extra=extra)
    return {**rendered, **values}
