"""Domain errors: plain exceptions carrying a stable code, raised by the rules.

The rules know nothing of HTTP; the API maps each class to a status and a JSON body
`{"code", "detail"}` in one place (chats/api/errors.py). Clients branch on `code`,
humans read `detail`, in the request's language (docs/api.md, "Errors"): `code` never changes with it.
"""
import json

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """A rule refused the request. `extra` is merged into the JSON body (e.g. `matches`)."""

    default_code = "invalid_request"

    def __init__(self, code: str | None = None, detail: str = "", **extra):
        self.code = code or self.default_code
        self.detail = detail or self.code.replace("_", " ").capitalize() + "."
        self.extra = extra
        super().__init__(f"{self.code}: {self.detail}")


class NotFound(DomainError):
    """The thing asked for does not exist, or the user may not see it (which is not revealed)."""

    default_code = "not_found"


class Gone(DomainError):
    """What the request names existed once and is no longer kept (a change feed cursor older than the feed)."""

    default_code = "gone"


class SendRefused(DomainError):
    """A send broke a conversation rule (consent, window, lock, template status)."""

    default_code = "send_refused"


class ConsentRefused(DomainError):
    """A consent change the rules do not allow (a rep cannot undo the HCP's own opt-out)."""

    default_code = "consent_refused"


class Conflict(DomainError):
    """The request names something that another record holds (an HCP's number on another account)."""

    default_code = "conflict"


class IdempotencyKeyReused(DomainError):
    """A client_id (or Idempotency-Key) already made a message of another content in this thread."""

    default_code = "idempotency_key_reused"


class BodyTooLarge(DomainError):
    """A request body over DATA_UPLOAD_MAX_MEMORY_SIZE: refused before it is read or stored."""

    default_code = "too_large"

    def __init__(self, limit: int):
        super().__init__(self.default_code, _("The request body is over the %(limit)s-byte limit.") % {"limit": f"{limit:,}"})

    def as_json(self) -> bytes:
        return json.dumps({"code": self.code, "detail": str(self.detail)}).encode()


class RestrictedPhrasesFound(DomainError):
    """Outbound text holds restricted phrases; `matches` lists each one."""

    default_code = "restricted_phrases"

    def __init__(self, matches: list, detail: str = ""):
        super().__init__(
            self.default_code,
            detail or _("The text contains restricted phrases; remove them and try again."),
            matches=[m.as_dict() if hasattr(m, "as_dict") else m for m in matches],
        )
