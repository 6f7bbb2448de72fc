"""Meta's error codes: what they mean for a send, in words a rep can act on."""
from dataclasses import dataclass

WINDOW_CLOSED = 131047
RATE_LIMITED = 130429  # throughput: too many messages from this business number
PAIR_RATE_LIMITED = 131056  # too many messages to this one HCP in a short time
RETRYABLE_CODES = frozenset({RATE_LIMITED, PAIR_RATE_LIMITED, 131000, 133004})  # 131000/133004: Meta-side trouble

HUMAN_REASONS = {
    WINDOW_CLOSED: "more than 24 hours since the HCP last wrote; send an approved template",
    131026: "the HCP's number cannot receive this message (not on WhatsApp, or an old app)",
    131049: "Meta chose not to deliver this marketing message to keep engagement healthy",
    131050: "the HCP has stopped marketing messages from this business",
    131051: "this message type is not supported",
    131052: "the media could not be downloaded",
    131053: "the media could not be uploaded",
    130472: "the HCP's number is part of a Meta experiment and cannot receive it",
    132000: "the template's parameters do not match its placeholders",
    132001: "the template does not exist in this language at Meta",
    132005: "the template text is too long once filled in",
    132007: "the template breaks a WhatsApp policy",
    132015: "the template is paused at Meta",
    132016: "the template is disabled at Meta",
    190: "the access token is invalid or expired; an admin must update it",
    RATE_LIMITED: "the business number sent too many messages; Meta asked us to slow down",
    PAIR_RATE_LIMITED: "too many messages to this HCP in a short time; Meta asked us to slow down",
}

FAILURE_CODES = {WINDOW_CLOSED: "window_closed", 131050: "opted_out"}


@dataclass
class Failure:
    """What Rapport stores on a failed message."""

    failure_code: str
    failure_reason: str
    error_code: int | None = None
    error_title: str = ""
    error_details: str = ""


def failure_from_meta(code: int | None, title: str = "", details: str = "") -> Failure:
    """A failed send or failed status, with Meta's words kept and a human reason added."""
    reason = HUMAN_REASONS.get(code) or details or title or "Meta refused the message"
    return Failure(
        failure_code=FAILURE_CODES.get(code, "meta_error"),
        failure_reason=reason,
        error_code=code,
        error_title=(title or "")[:255],
        error_details=details or "",
    )
