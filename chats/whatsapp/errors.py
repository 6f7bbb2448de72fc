"""Meta's error codes for sends: what Rapport does about each, and what the rep reads.

One table, `SEND_ERRORS` (docs/whatsapp.md, "Error classes", is written from it): per code, the
action (retry after a delay, stop, or stop and ask an admin to fix configuration), the failure
code stored on the message, and the reason shown on the rep's bubble. A code not in the table
stops with Meta's own words (`meta_error`); an HTTP 5xx is retried. Rapport retries nothing
"tomorrow" by itself: where Meta asks to wait a day (131049), the message stops and the rep's
reason says so, and sending again is the rep's choice.
"""
from dataclasses import dataclass
from enum import Enum


class Action(str, Enum):
    RETRY = "retry after a delay"
    STOP = "stop"
    FIX_CONFIGURATION = "stop; an admin must fix configuration"


@dataclass(frozen=True)
class ErrorClass:
    action: Action
    failure_code: str
    reason: str  # what the rep reads on the failed bubble


WINDOW_CLOSED = 131047
RATE_LIMITED = 130429  # throughput: too many messages from this business number
PAIR_RATE_LIMITED = 131056  # too many messages to this one HCP in a short time

_TRY_AGAIN = ErrorClass(Action.RETRY, "meta_error", "Meta had a passing problem; Rapport tried again")
_ADMIN = "needs_admin"

SEND_ERRORS: dict[int, ErrorClass] = {
    # Meta-side trouble and rate limits: retried with backoff (WHATSAPP_SEND_MAX_ATTEMPTS)
    1: _TRY_AGAIN,
    2: _TRY_AGAIN,
    131000: _TRY_AGAIN,
    133004: _TRY_AGAIN,
    RATE_LIMITED: ErrorClass(Action.RETRY, "rate_limited",
                             "the business number sent too many messages; Meta asked us to slow down"),
    PAIR_RATE_LIMITED: ErrorClass(Action.RETRY, "rate_limited",
                                  "too many messages to this HCP in a short time; Meta asked us to slow down"),
    # the HCP, the window or Meta's delivery choices: the message stops, the rep reads why
    WINDOW_CLOSED: ErrorClass(Action.STOP, "window_closed",
                              "more than 24 hours since the HCP last wrote; send an approved template"),
    131049: ErrorClass(Action.STOP, "meta_error",
                       "Meta chose not to deliver this marketing message to keep engagement healthy; "
                       "wait a day before sending it again"),
    131050: ErrorClass(Action.STOP, "opted_out", "the HCP has stopped marketing messages from this business"),
    131026: ErrorClass(Action.STOP, "meta_error",
                       "the HCP's number cannot receive this message (not on WhatsApp, or an old app)"),
    130472: ErrorClass(Action.STOP, "meta_error",
                       "the HCP's number is part of a Meta experiment and cannot receive it"),
    137000: ErrorClass(Action.STOP, "meta_error",
                       "the HCP's WhatsApp identity changed (a new phone or a reinstall); Meta did not deliver"),
    131062: ErrorClass(Action.STOP, "needs_phone_number",
                       "this message cannot go to an HCP known only by WhatsApp user id; "
                       "it needs the HCP's phone number"),
    131051: ErrorClass(Action.STOP, "meta_error", "this message type is not supported"),
    131052: ErrorClass(Action.STOP, "meta_error", "the media could not be downloaded"),
    131053: ErrorClass(Action.STOP, "meta_error", "the media could not be uploaded"),
    132005: ErrorClass(Action.STOP, "meta_error", "the template text is too long once filled in"),
    132015: ErrorClass(Action.STOP, "meta_error", "the template is paused at Meta; choose another"),
    132016: ErrorClass(Action.STOP, "meta_error", "the template is disabled at Meta; choose another"),
    # the business's configuration: the message stops and an admin must act (failure code needs_admin)
    131042: ErrorClass(Action.FIX_CONFIGURATION, _ADMIN,
                       "the WhatsApp Business Account has a payment problem; an admin must fix its billing"),
    131031: ErrorClass(Action.FIX_CONFIGURATION, _ADMIN,
                       "the WhatsApp Business Account is locked by Meta; an admin must resolve it"),
    368: ErrorClass(Action.FIX_CONFIGURATION, _ADMIN,
                    "Meta restricted this business for a policy violation; an admin must resolve it"),
    131048: ErrorClass(Action.FIX_CONFIGURATION, _ADMIN,
                       "this business number is limited for low quality (messages blocked or reported); "
                       "an admin must check it in WhatsApp Manager"),
    130497: ErrorClass(Action.FIX_CONFIGURATION, _ADMIN,
                       "this business may not message users in the HCP's country; an admin must check it"),
    190: ErrorClass(Action.FIX_CONFIGURATION, _ADMIN, "the access token is invalid or expired; an admin must update it"),
    132000: ErrorClass(Action.FIX_CONFIGURATION, _ADMIN, "the template's parameters do not match its placeholders"),
    132001: ErrorClass(Action.FIX_CONFIGURATION, _ADMIN, "the template does not exist in this language at Meta"),
    132007: ErrorClass(Action.FIX_CONFIGURATION, _ADMIN, "the template breaks a WhatsApp policy"),
}
UNKNOWN = ErrorClass(Action.STOP, "meta_error", "Meta refused the message")
# Refusals of the template itself (paused, disabled at Meta): the template is marked as well.
TEMPLATE_REFUSALS = frozenset({132015, 132016})


def error_class(code: int | None, http_status: int = 400) -> ErrorClass:
    """The class of a send's error: the table's, else a retry for Meta's 5xx, else a stop."""
    if code in SEND_ERRORS:
        return SEND_ERRORS[code]
    if http_status >= 500:
        return _TRY_AGAIN
    return UNKNOWN


@dataclass
class Failure:
    """What Rapport stores on a failed message."""

    failure_code: str
    failure_reason: str
    error_code: int | None = None
    error_title: str = ""
    error_details: str = ""


def failure_from_meta(code: int | None, title: str = "", details: str = "") -> Failure:
    """A failed send or failed status, with Meta's words kept and the reason a rep reads."""
    known = SEND_ERRORS.get(code)
    return Failure(
        failure_code=known.failure_code if known else UNKNOWN.failure_code,
        failure_reason=known.reason if known else (details or title or UNKNOWN.reason),
        error_code=code,
        error_title=(title or "")[:255],
        error_details=details or "",
    )
