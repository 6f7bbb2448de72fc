"""Which templates a thread may offer, in the HCP's language with the WABA's as fallback."""
from __future__ import annotations

from templates_app.models import MessageTemplate

QUICK_TEMPLATE_COUNT = 2
# Sent by Rapport itself (consent capture, ending), so not offered unless asked for by category.
AUTOMATIC_USAGES = (MessageTemplate.Usage.CONSENT_CONFIRMATION, MessageTemplate.Usage.END_CONVERSATION)


def quick_templates(*, waba, language: str) -> list[MessageTemplate]:
    """Up to two approved start_conversation templates by display order, in `language`,
    or in the WABA's default language when none exists in `language` (one query)."""
    languages = {language, waba.default_language}
    rows = list(
        MessageTemplate.objects.approved_meta()
        .filter(waba=waba, usage=MessageTemplate.Usage.START_CONVERSATION, language__in=languages)
        .order_by("display_order", "name", "id")
    )
    chosen = [t for t in rows if t.language == language] or [t for t in rows if t.language == waba.default_language]
    return chosen[:QUICK_TEMPLATE_COUNT]


def templates_for_thread(*, waba, language: str, window_open: bool, category: str | None = None) -> list[MessageTemplate]:
    """Templates the thread may send now, one per name, in `language` else the WABA default.

    Approved Meta templates always; Text Only templates only while the window is open.
    Without `category`, the automatic usages (consent confirmation, end) are left out.
    """
    qs = MessageTemplate.objects.sendable(window_open=window_open).filter(
        waba=waba, language__in={language, waba.default_language})
    if category:
        qs = qs.filter(usage=category)
    else:
        qs = qs.exclude(usage__in=AUTOMATIC_USAGES)
    by_name: dict[str, MessageTemplate] = {}
    for template in qs.order_by("display_order", "name", "id"):
        current = by_name.get(template.name)
        if current is None or (template.language == language and current.language != language):
            by_name[template.name] = template
    return list(by_name.values())


def template_by_reference(*, waba, reference: int | str, language: str | None, hcp_language: str
                          ) -> MessageTemplate | None:
    """The template a send names: by id (`reference` an int), or by name as Meta's API names them,
    in `language` when given, else the HCP's language, else the WABA's default. Any status: whether
    it may be sent is the conversation rules' decision (409 `template_not_approved`), not a lookup's."""
    templates = MessageTemplate.objects.filter(waba=waba)
    if isinstance(reference, int):
        return templates.filter(pk=reference).first()
    candidates = [language] if language else [hcp_language, waba.default_language]
    found = {t.language: t for t in templates.filter(name=reference, language__in=candidates).order_by("-id")}
    return next((found[c] for c in candidates if c in found), None)


def templates_of_wabas(*, waba_ids) -> list[MessageTemplate]:
    """Every template of these WABAs, whatever its status or kind: a catalogue, not an offer."""
    return list(MessageTemplate.objects.filter(waba_id__in=waba_ids).order_by("name", "language", "id"))
