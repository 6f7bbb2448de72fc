"""Templates and Meta: the hourly sync and status-update webhooks."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from templates_app.models import MessageTemplate

logger = logging.getLogger(__name__)

Status = MessageTemplate.MetaStatus
# Meta's status-update events that are not statuses of their own.
EVENT_STATUS = {"REINSTATED": Status.APPROVED, "FLAGGED": Status.FLAGGED}
NOT_OFFERED = {Status.PAUSED, Status.REJECTED, Status.DISABLED}


@dataclass
class SyncResult:
    waba_id: str
    skipped: bool = False
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)  # now PAUSED / REJECTED / DISABLED
    missing_at_meta: list[str] = field(default_factory=list)

    def __str__(self):
        if self.skipped:
            return f"WABA {self.waba_id}: backend has no remote templates (sandbox); nothing to sync"
        return (
            f"WABA {self.waba_id}: {len(self.created)} created, {len(self.updated)} updated, "
            f"{len(self.withdrawn)} no longer offered, {len(self.missing_at_meta)} not at Meta"
        )


def sync_templates(*, waba) -> SyncResult:
    """Upsert every template Meta lists for `waba` (name, language, status, category, id, body).

    Bindings, usage and display order are Rapport's own and are kept. Templates
    that Meta no longer lists are reported, not deleted.
    """
    from chats.whatsapp.backends import get_backend

    remote = get_backend().message_templates(waba_id=waba.waba_id, access_token=waba.effective_access_token)
    result = SyncResult(waba_id=waba.waba_id)
    if remote is None:
        result.skipped = True
        return result
    now = timezone.now()
    seen = set()
    with transaction.atomic():
        existing = {(t.name, t.language): t for t in MessageTemplate.objects.select_for_update().filter(waba=waba)}
        for item in remote:
            name, language = str(item.get("name") or ""), str(item.get("language") or "")
            if not name or not language:
                continue
            seen.add((name, language))
            values = {
                "meta_template_id": str(item.get("id") or ""),
                "meta_status": _status(item.get("status")),
                "meta_category": _category(item.get("category")),
                "body": _body_text(item.get("components")),
                "status_reason": _reason(item.get("rejected_reason")),
            }
            template = existing.get((name, language))
            label = f"{name} [{language}]"
            if template is None:
                MessageTemplate.objects.create(waba=waba, name=name, language=language,
                                               kind=MessageTemplate.Kind.META, last_synced_at=now, **values)
                result.created.append(label)
                continue
            if template.meta_status != values["meta_status"] and values["meta_status"] in NOT_OFFERED:
                result.withdrawn.append(label)
            if values["body"] == "" and template.body:
                values.pop("body")  # a template without a BODY component keeps what admins wrote
            for key, value in values.items():
                setattr(template, key, value)
            template.kind = MessageTemplate.Kind.META
            template.last_synced_at = now
            template.save()
            result.updated.append(label)
        result.missing_at_meta = sorted(
            f"{n} [{lang}]" for (n, lang), t in existing.items()
            if (n, lang) not in seen and t.kind == MessageTemplate.Kind.META
        )
    logger.info("template sync: %s", result)
    return result


def sync_all_templates() -> list[SyncResult]:
    """Sync every WABA (beat task, management command, admin action)."""
    from chats.models import WhatsAppBusinessAccount

    results = []
    for waba in WhatsAppBusinessAccount.objects.all():
        try:
            results.append(sync_templates(waba=waba))
        except Exception:  # one WABA's bad token must not stop the others
            logger.exception("template sync failed for WABA %s", waba.waba_id)
    return results


def template_status_apply(*, update) -> bool:
    """A `message_template_status_update` webhook: set the template's status at once.

    Found by Meta's template id, else by name and language (within the entry's WABA when known).
    """
    status = EVENT_STATUS.get(update.event, update.event)
    if status not in Status.values:
        logger.info("template status event %r ignored", update.event)
        return False
    templates = MessageTemplate.objects.all()
    if update.waba_id:
        scoped = templates.filter(waba__waba_id=update.waba_id)
        templates = scoped if scoped.exists() else templates
    target = templates.filter(meta_template_id=update.template_id) if update.template_id else templates.none()
    if not target.exists():
        target = templates.filter(name=update.name, language=update.language)
    changed = target.update(meta_status=status, status_reason=update.reason[:255], updated_at=timezone.now())
    if not changed:
        logger.warning("template status %s for unknown template %s [%s] (id %s)", status, update.name,
                       update.language, update.template_id)
    return bool(changed)


def _status(raw) -> str:
    value = str(raw or "").upper()
    return value if value in Status.values else Status.PENDING


def _category(raw) -> str:
    value = str(raw or "").upper()
    return value if value in MessageTemplate.MetaCategory.values else ""


def _reason(raw) -> str:
    value = str(raw or "")
    return "" if value.upper() == "NONE" else value[:255]


def _body_text(components) -> str:
    for component in components if isinstance(components, list) else []:
        if isinstance(component, dict) and str(component.get("type", "")).upper() == "BODY":
            return str(component.get("text") or "")
    return ""
