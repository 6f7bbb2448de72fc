"""HCP accounts pushed in by a CRM, keyed by the CRM's id (`external_id`), with consent captured there.

Upserting the same data twice changes nothing and writes nothing; every change leaves one audit row
naming the integration (chats/compliance/changes.py, source `integration`).
"""
from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from chats.compliance.changes import change_record, changed_values
from chats.errors import Conflict, DomainError, NotFound
from chats.models import Account, Integration
from consent.models import ConsentChannel
from consent.services import consent_import

# What a CRM may set (the WhatsApp address fields as in the admin); `team` and `consent` travel beside them.
ACCOUNT_FIELDS = ("name", "specialty", "country", "language", "whatsapp_number", "whatsapp_user_id",
                  "whatsapp_parent_user_id", "whatsapp_username")
BULK_MAX = 1000


@dataclass
class Upserted:
    account: Account
    outcome: str  # created, updated, unchanged
    consent: str | None = None  # changed, unchanged, superseded (None: no consent given)


def _validation_errors(exc: ValidationError) -> dict:
    return {name: [str(m) for m in messages] for name, messages in exc.message_dict.items()} \
        if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}


def _holder_conflict(account: Account, data: dict) -> None:
    """409 when the number or user id the CRM gives is another HCP's (one that has its own CRM id, or is
    kept under another)."""
    for name in ("whatsapp_number", "whatsapp_user_id"):
        value = data.get(name)
        if value and (holder := Account.objects.filter(**{name: value}).exclude(pk=account.pk).first()):
            raise Conflict("conflict", f"Another HCP account (id {holder.pk}, external id "
                                       f"{holder.external_id or 'none'}) has this {name.replace('_', ' ')}.",
                           field=name, account=holder.pk)


def _adoptable(data: dict) -> Account | None:
    """An HCP Rapport already keeps without a CRM id, named by the same number or user id: the CRM's now."""
    for name in ("whatsapp_number", "whatsapp_user_id"):
        if data.get(name):
            found = Account.objects.select_for_update().filter(**{name: data[name]}).first()
            if found is not None:
                return found if found.external_id is None else None
    return None


def _apply(*, integration: Integration, external_id: str, data: dict, create: bool) -> Upserted:
    account = Account.objects.select_for_update().filter(external_id=external_id).first()
    created = False
    if account is None:
        if not create:
            raise NotFound("not_found", f"No HCP account has external id {external_id!r}.")
        account = _adoptable(data)
        if account is None:
            account, created = Account(external_id=external_id), True
        else:
            account.external_id = external_id
    _holder_conflict(account, data)
    before = {name: getattr(account, name) for name in ("external_id", *ACCOUNT_FIELDS)}
    for name in ACCOUNT_FIELDS:
        if name in data:
            setattr(account, name, data[name])
    try:
        account.full_clean()
    except ValidationError as exc:
        raise DomainError("invalid", _("The account is not valid."), errors=_validation_errors(exc)) from None
    fields, previous = changed_values(before, {name: getattr(account, name) for name in before})
    team_before = set() if created else set(account.team.values_list("username", flat=True))
    team = data.get("team")
    if team is not None and {user.username for user in team} != team_before:
        fields["team"] = sorted(user.username for user in team)
        previous["team"] = sorted(team_before)
    if created or fields:
        account.save()
        if team is not None:
            account.team.set(team)
        change_record(actor=integration.user, obj=account, action="added" if created else "changed",
                      source="integration", fields=fields, previous={} if created else previous,
                      integration=integration.name)
    consent = data.get("consent")
    consent_outcome = None
    if consent is not None:
        consent_outcome = consent_import(account=account, actor=integration.user, via=ConsentChannel.API, **consent)
    return Upserted(account, "created" if created else "updated" if fields else "unchanged", consent_outcome)


def account_upsert(*, integration: Integration, external_id: str, data: dict, create: bool = True) -> Upserted:
    """Create the HCP with CRM id `external_id`, or change the fields `data` gives (others stay as they are).
    `create=False` (PATCH) changes an existing one only (NotFound otherwise). An HCP Rapport keeps without a
    CRM id and with the same number or user id is adopted, not doubled; a number or user id another HCP
    holds is a Conflict. `data` holds ACCOUNT_FIELDS, `team` (users) and `consent` (consent_import's
    arguments) as validated by the caller. One transaction; a concurrent first upsert of the same id
    reads the winner's row."""
    try:
        with transaction.atomic():
            return _apply(integration=integration, external_id=external_id, data=data, create=create)
    except IntegrityError:  # another request created this external id (or took this number) first
        with transaction.atomic():
            return _apply(integration=integration, external_id=external_id, data=data, create=create)


def accounts_bulk_upsert(*, integration: Integration, rows: list[tuple[str, dict | None, dict | None]]
                         ) -> list[dict]:
    """Upsert many accounts, each on its own: (external_id, data, errors) rows in, one result per row out,
    in order (`created` / `updated` / `unchanged` with the account id, or `error` with a code). A row that
    fails changes nothing and holds back no other."""
    results = []
    for external_id, data, errors in rows:
        if errors:
            results.append({"external_id": external_id, "status": "error", "code": "invalid",
                            "detail": "The row is not valid.", "errors": errors})
            continue
        try:
            done = account_upsert(integration=integration, external_id=external_id, data=data)
        except DomainError as exc:
            results.append({"external_id": external_id, "status": "error", "code": exc.code, "detail": exc.detail,
                            **exc.extra})
            continue
        results.append({"external_id": external_id, "status": done.outcome, "id": done.account.pk,
                        **({"consent": done.consent} if done.consent else {})})
    return results
