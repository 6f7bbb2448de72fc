from .accounts import Account, UserProfile
from .audit import AuditEvent
from .integration import Change, Integration, WebhookAttempt, WebhookDelivery, WebhookSubscription
from .messages import Message, WebhookEvent, written_at_expression
from .numbers import PhoneAssignment, PhoneNumber, WhatsAppBusinessAccount
from .reactions import MessageReaction
from .phrases import RestrictedPhrase, RestrictedPhraseRule
from .push import PushSubscription
from .safety import SafetyCase, SafetyCaseEvent, SafetyTerm
from .rollup import DailyMessageRollup, RolledUpDay
from .threads import Conversation, Thread

__all__ = [
    "Account",
    "AuditEvent",
    "Change",
    "Integration",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookSubscription",
    "Conversation",
    "DailyMessageRollup",
    "Message",
    "MessageReaction",
    "written_at_expression",
    "PhoneAssignment",
    "PhoneNumber",
    "PushSubscription",
    "RestrictedPhrase",
    "RestrictedPhraseRule",
    "RolledUpDay",
    "SafetyCase",
    "SafetyCaseEvent",
    "SafetyTerm",
    "Thread",
    "UserProfile",
    "WebhookEvent",
    "WhatsAppBusinessAccount",
]
