"""What a webhook body says, as plain dataclasses: HCP messages, statuses, reactions, template events
and HCP preferences. `chats/whatsapp/parser.py` makes them from Meta's JSON; ingress applies them."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class MetaError:
    code: int | None
    title: str = ""
    message: str = ""
    details: str = ""


@dataclass
class InboundMessage:
    """One HCP message. `kind` is Rapport's Message.Kind; `wa_type` is Meta's."""

    wamid: str
    wa_from: str  # the sender's phone number as WhatsApp writes it; "" when Meta withholds it (usernames)
    phone_number_id: str
    display_phone_number: str
    timestamp: datetime | None
    wa_type: str
    kind: str
    body: str
    profile_name: str = ""
    # The sender's business-scoped user id (BSUID), its parent id and username, when Meta sends them.
    wa_user_id: str = ""
    wa_parent_user_id: str = ""
    wa_username: str = ""
    context_wamid: str = ""
    forwarded: bool = False
    media: dict = field(default_factory=dict)
    errors: list[MetaError] = field(default_factory=list)
    # System notices and edits/revokes are not the HCP writing to us, so they do not roll the window.
    opens_window: bool = True


@dataclass
class StatusUpdate:
    wamid: str
    status: str
    timestamp: datetime | None
    recipient_id: str
    phone_number_id: str
    errors: list[MetaError] = field(default_factory=list)
    recipient_user_id: str = ""
    conversation: dict = field(default_factory=dict)
    pricing: dict = field(default_factory=dict)
    callback_data: str = ""


@dataclass
class TemplateStatusUpdate:
    """A template event from Meta. `kind` is "status" (`event` the new status), "quality" (`event`
    the new quality score: GREEN, YELLOW, RED, UNKNOWN), "category" (`event` the new category) or
    "components" (`event` the edited body text)."""

    waba_id: str
    event: str
    template_id: str
    name: str
    language: str
    reason: str = ""
    category: str = ""
    kind: str = "status"


@dataclass
class PreferenceUpdate:
    """An HCP stopped or resumed marketing messages in WhatsApp's own settings (`user_preferences`).
    The HCP is named by phone (`wa_id`), by business-scoped user id (`user_id`), or both."""

    wa_id: str
    category: str
    value: str
    detail: str = ""
    timestamp: datetime | None = None
    phone_number_id: str = ""
    user_id: str = ""


@dataclass
class ReactionUpdate:
    """An HCP's emoji on a message (`message_wamid`), or its removal (`emoji` ""): never a message of its own.
    `wamid` is the reaction's own id; `wa_from` / `from_user_id` the sender as Meta gave them."""

    wamid: str
    message_wamid: str
    emoji: str
    wa_from: str
    phone_number_id: str
    timestamp: datetime | None
    from_user_id: str = ""


@dataclass
class WebhookBody:
    messages: list[InboundMessage] = field(default_factory=list)
    statuses: list[StatusUpdate] = field(default_factory=list)
    template_updates: list[TemplateStatusUpdate] = field(default_factory=list)
    preferences: list[PreferenceUpdate] = field(default_factory=list)
    reactions: list[ReactionUpdate] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


class PayloadError(ValueError):
    """The body is not JSON or not an object: nothing in it can be processed."""
