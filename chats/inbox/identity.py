"""An HCP's WhatsApp identity: phone number, business-scoped user id (BSUID), parent user id, username.

Since 2026 WhatsApp may name a sender by user id alone (an HCP with a username can hide their number).
An account keeps whichever it has; one is enough. What a webhook says of the sender is learned here
(`identity_learn`), and Meta's notices that a number or user id changed re-key the account here
(`identity_rekey`), so consent, threads and history stay with it. Every change leaves an audit row.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from chats.compliance.audit import audit_entry, audit_save
from chats.integration.feed import changes_record
from chats.models import Account, AuditEvent
from chats.models.phones import normalize_e164

# Meta's system notices that move an HCP to a new identity (`system.type`).
REKEY_TYPES = ("user_changed_number", "user_changed_user_id")
ADDRESS_FIELDS = ("whatsapp_number", "whatsapp_user_id", "whatsapp_parent_user_id", "whatsapp_username")


@functools.lru_cache(maxsize=4096)  # parsing cost 40 µs a message in the drain; HCPs write again and again
def e164_or_none(wa_id: str) -> str | None:
    """A wa_id (digits) as the E.164 number accounts keep, or None when it is no phone number."""
    if not wa_id:
        return None
    try:
        return normalize_e164(wa_id)
    except ValidationError:
        return None


@dataclass
class Sender:
    """Who WhatsApp says sent something: any of these may be empty."""

    number: str | None = None  # E.164
    user_id: str = ""
    parent_user_id: str = ""
    username: str = ""


@dataclass
class Directory:
    """The accounts a batch's senders name, by number and by user id (loaded once for the batch), kept
    current as the batch learns and re-keys, so a later message in the same batch finds the new identity."""

    by_number: dict[str, Account] = field(default_factory=dict)
    by_user_id: dict[str, Account] = field(default_factory=dict)

    def account_for(self, sender: Sender, *, previous_user_id: str = "") -> Account | None:
        """The sender's account: by user id first (Meta's id for this HCP and this business), else by number."""
        for user_id in (sender.user_id, previous_user_id):
            if user_id and user_id in self.by_user_id:
                return self.by_user_id[user_id]
        return self.by_number.get(sender.number) if sender.number else None

    def holder(self, field_name: str, value: str) -> Account | None:
        index = self.by_number if field_name == "whatsapp_number" else self.by_user_id
        return index.get(value)

    def remember(self, account: Account) -> None:
        if account.whatsapp_number:
            self.by_number[account.whatsapp_number] = account
        if account.whatsapp_user_id:
            self.by_user_id[account.whatsapp_user_id] = account


def identity_learn(*, account: Account, sender: Sender, directory: Directory, wamid: str = "") -> list[AuditEvent]:
    """Fill in what the account lacks from a webhook that names the sender both ways (number and user id),
    and follow a changed username. An identifier another account already holds is left alone (the
    conflict is an admin's to resolve; routing keeps preferring the user id). Returns unsaved audit rows."""
    changes = {}
    if sender.number and not account.whatsapp_number and directory.holder("whatsapp_number", sender.number) is None:
        changes["whatsapp_number"] = sender.number
    if sender.user_id and not account.whatsapp_user_id and directory.holder("whatsapp_user_id", sender.user_id) is None:
        changes["whatsapp_user_id"] = sender.user_id
    if sender.user_id and sender.user_id == (changes.get("whatsapp_user_id") or account.whatsapp_user_id):
        if sender.parent_user_id and sender.parent_user_id != account.whatsapp_parent_user_id:
            changes["whatsapp_parent_user_id"] = sender.parent_user_id
    if sender.username and sender.username != account.whatsapp_username:
        changes["whatsapp_username"] = sender.username
    return _apply(account=account, changes=changes, directory=directory, reason="learned from a webhook", wamid=wamid)


def identity_rekey(*, account: Account, system: dict, directory: Directory, wamid: str) -> list[AuditEvent]:
    """Apply Meta's notice that the HCP changed number (`user_changed_number`: `wa_id` is the new number,
    usually with a new `user_id`) or user id (`user_changed_user_id`: `user_id` the new one). The account
    keeps its consent, threads and history; an identifier held by another account is not taken."""
    changes = {}
    new_number = e164_or_none(str(system.get("wa_id") or "")) if system.get("system_type") == REKEY_TYPES[0] else None
    if new_number and new_number != account.whatsapp_number:
        changes["whatsapp_number"] = new_number
    new_user_id = str(system.get("user_id") or "")
    if new_user_id and new_user_id != account.whatsapp_user_id:
        changes["whatsapp_user_id"] = new_user_id
        changes["whatsapp_parent_user_id"] = str(system.get("parent_user_id") or "")
    refused = {name: value for name, value in changes.items()
               if name in ("whatsapp_number", "whatsapp_user_id") and _held_elsewhere(name, value, account)}
    for name in refused:
        changes.pop(name)
    trail = _apply(account=account, changes=changes, directory=directory, reason=str(system.get("system_type")),
                   wamid=wamid)
    if refused:
        trail.append(audit_entry(kind=AuditEvent.Kind.ACCOUNT_WHATSAPP_ADDRESS, account=account, wamid=wamid,
                                 reason=str(system.get("system_type")), refused=refused,
                                 detail="another HCP account already has this identifier"))
    return trail


def _held_elsewhere(field_name: str, value: str, account: Account) -> bool:
    return Account.objects.filter(**{field_name: value}).exclude(pk=account.pk).exists()


def _apply(*, account: Account, changes: dict, directory: Directory, reason: str, wamid: str) -> list[AuditEvent]:
    if not changes:
        return []
    before = {name: getattr(account, name) or "" for name in changes}
    for name, value in changes.items():
        setattr(account, name, value or ("" if name in ("whatsapp_parent_user_id", "whatsapp_username") else None))
    Account.objects.filter(pk=account.pk).update(updated_at=timezone.now(),
                                                 **{name: getattr(account, name) for name in changes})
    directory.remember(account)
    if {"whatsapp_number", "whatsapp_user_id"} & set(changes):  # the keys integrations match the HCP by
        changes_record([("account.rekeyed", {
            "account": account.pk, "external_id": account.external_id, "reason": reason,
            **{name: getattr(account, name) for name in ADDRESS_FIELDS},
            "changes": {name: {"from": before[name], "to": value or ""} for name, value in changes.items()}})])
    return [audit_entry(kind=AuditEvent.Kind.ACCOUNT_WHATSAPP_ADDRESS, account=account, wamid=wamid, reason=reason,
                        changes={name: {"from": before[name], "to": value} for name, value in changes.items()})]


def identity_learn_from_statuses(*, pairs: set[tuple[str, str]]) -> list[AuditEvent]:
    """(wa_id, user_id) pairs that status webhooks gave together: an account with that number and no user
    id learns it. One read for the whole batch; nothing when every account already knows its id."""
    numbers = {number: user_id for wa_id, user_id in pairs if (number := e164_or_none(wa_id)) and user_id}
    if not numbers:
        return []
    with transaction.atomic():
        learners = list(Account.objects.filter(whatsapp_number__in=numbers, whatsapp_user_id__isnull=True))
        if not learners:
            return []
        directory = Directory()
        for holder in Account.objects.filter(whatsapp_user_id__in=set(numbers.values())):
            directory.remember(holder)
        trail = []
        for account in learners:
            trail += identity_learn(account=account, sender=Sender(number=account.whatsapp_number,
                                                                   user_id=numbers[account.whatsapp_number]),
                                    directory=directory)
        return audit_save(trail)
