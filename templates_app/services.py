"""Templates and Meta: the hourly sync and status-update webhooks."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from chats.compliance.changes import change_record, changed_values
from chats.models import AuditEvent, WhatsAppBusinessAccount
from chats.whatsapp.backends import get_backend
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


def sync_templates(*, waba, actor=None) -> SyncResult:
    """Upsert every template Meta lists for `waba` (name, language, status, category, id, body).

    Bindings, usage and display order are Rapport's own and are kept. Templates
    that Meta no longer lists are reported, not deleted. Each template created,
    or changed in a field Meta owns, leaves one `template.synced` audit row in the
    same transaction (`actor`: the admin who asked for the sync; None for the
    hourly task and the command); a sync that changes nothing writes none.
    """
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
                template = MessageTemplate.objects.create(waba=waba, name=name, language=language,
                                                          kind=MessageTemplate.Kind.META, last_synced_at=now, **values)
                _record_meta_change(template=template, waba=waba, action="added", actor=actor, source="meta_sync",
                                    fields=_meta_owned(template))
                result.created.append(label)
                continue
            if template.meta_status != values["meta_status"] and values["meta_status"] in NOT_OFFERED:
                result.withdrawn.append(label)
            if values["body"] == "" and template.body:
                values.pop("body")  # a template without a BODY component keeps what admins wrote
            before = _meta_owned(template)
            for key, value in values.items():
                setattr(template, key, value)
            template.kind = MessageTemplate.Kind.META
            template.last_synced_at = now
            template.save()
            fields, previous = changed_values(before, _meta_owned(template))
            if fields:
                _record_meta_change(template=template, waba=waba, action="changed", actor=actor, source="meta_sync",
                                    fields=fields, previous=previous)
            result.updated.append(label)
        result.missing_at_meta = sorted(
            f"{n} [{lang}]" for (n, lang), t in existing.items()
            if (n, lang) not in seen and t.kind == MessageTemplate.Kind.META
        )
    logger.info("template sync: %s", result)
    return result


def sync_all_templates() -> list[SyncResult]:
    """Sync every WABA (beat task and management command: no actor, the system did it)."""
    results = []
    for waba in WhatsAppBusinessAccount.objects.all():
        try:
            results.append(sync_templates(waba=waba))
        except Exception:  # one WABA's bad token must not stop the others
            logger.exception("template sync failed for WABA %s", waba.waba_id)
    return results


@transaction.atomic
def _meta_values(update) -> dict | None:
    """The fields a template event sets, or None when its value is not one Rapport knows."""
    if update.kind == "quality":
        return {"quality_score": update.event} if update.event in MessageTemplate.Quality.values else None
    if update.kind == "category":
        return {"meta_category": update.event} if update.event in MessageTemplate.MetaCategory.values else None
    if update.kind == "components":
        return {"body": update.event} if update.event.strip() else None
    status = EVENT_STATUS.get(update.event, update.event)
    return {"meta_status": status, "status_reason": update.reason[:255]} if status in Status.values else None


def template_status_apply(*, update) -> bool:
    """A template webhook: `message_template_status_update` (its status), `message_template_quality_update`
    (its quality score), `template_category_update` (its category) or `message_template_components_update`
    (its edited body), applied at once.

    Found by Meta's template id, else by name and language (within the entry's WABA when known).
    Each template whose values change leaves one `template.synced` audit row (no actor: Meta did
    it), so the audit trail is each template's status, quality and category history; a replayed
    webhook changes nothing and writes nothing.
    """
    after = _meta_values(update)
    if after is None:
        logger.info("template %s event %r ignored", update.kind, update.event)
        return False
    templates = MessageTemplate.objects.all()
    if update.waba_id:
        scoped = templates.filter(waba__waba_id=update.waba_id)
        templates = scoped if scoped.exists() else templates
    target = templates.filter(meta_template_id=update.template_id) if update.template_id else templates.none()
    if not target.exists():
        target = templates.filter(name=update.name, language=update.language)
    found = list(target.select_for_update().order_by("pk"))
    for template in found:
        fields, previous = changed_values({name: getattr(template, name) for name in after}, after)
        if not fields:
            continue
        MessageTemplate.objects.filter(pk=template.pk).update(**after, updated_at=timezone.now())
        _record_meta_change(template=template, waba=template.waba, action="changed", actor=None,
                            source="meta_webhook", event=update.event, fields=fields, previous=previous)
    if not found:
        logger.warning("template %s %s for unknown template %s [%s] (id %s)", update.kind, update.event, update.name,
                       update.language, update.template_id)
    return bool(found)


# The fields a sync or Meta's webhook may set: the ones their audit rows compare.
META_OWNED = ("kind", "meta_template_id", "meta_status", "meta_category", "body", "status_reason")


def _meta_owned(template: MessageTemplate) -> dict:
    return {name: getattr(template, name) for name in META_OWNED}


def _record_meta_change(*, template, waba, action: str, actor, source: str, **details) -> None:
    change_record(kind=AuditEvent.Kind.TEMPLATE_SYNCED, actor=actor, obj=template, action=action, source=source,
                  waba_id=waba.waba_id, **details)


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


# A send refused for the template itself: Meta paused or disabled it (its status webhook may come later).
REFUSAL_STATUS = {132015: Status.PAUSED, 132016: Status.DISABLED}


@transaction.atomic
def template_refused_by_meta(*, template_id: int, error_code: int) -> bool:
    """Mark a template Meta refused a send for (132015 paused, 132016 disabled) at once, so it is
    neither offered nor sent again until Meta says otherwise; one audit row, as a webhook leaves.
    False when the code is no such refusal or the template already says so."""
    status = REFUSAL_STATUS.get(error_code)
    template = MessageTemplate.objects.select_for_update().filter(pk=template_id).select_related("waba").first()
    if status is None or template is None or template.meta_status == status:
        return False
    previous = {"meta_status": template.meta_status}
    MessageTemplate.objects.filter(pk=template.pk).update(meta_status=status, updated_at=timezone.now())
    _record_meta_change(template=template, waba=template.waba, action="changed", actor=None, source="meta_send_refusal",
                        event=str(error_code), fields={"meta_status": status}, previous=previous)
    return True
