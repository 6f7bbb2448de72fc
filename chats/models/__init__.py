from .accounts import Account, UserProfile
from .audit import AuditEvent
from .messages import Message, WebhookEvent
from .numbers import PhoneAssignment, PhoneNumber, WhatsAppBusinessAccount
from .phrases import RestrictedPhrase, RestrictedPhraseRule
from .threads import Conversation, Thread

__all__ = [
    "Account",
    "AuditEvent",
    "Conversation",
    "Message",
    "PhoneAssignment",
    "PhoneNumber",
    "RestrictedPhrase",
    "RestrictedPhraseRule",
    "Thread",
    "UserProfile",
    "WebhookEvent",
    "WhatsAppBusinessAccount",
]
