"""Filling a template's placeholders from the account, the rep and the send's context.

Each placeholder is bound to a field of BINDING_FIELDS (templates_app/models.py); the
values are computed once per (account, rep, number) so a list of templates renders
without a query per template.
"""
from __future__ import annotations

from consent.models import ConsentType
from templates_app.models import BINDING_FIELDS, PLACEHOLDER_RE, MessageTemplate


def _consent_keywords(language: str) -> tuple[str, str]:
    # The HCP's language, else English; the first keyword of each list is the one we show.
    types = {t.language: t for t in ConsentType.objects.filter(language__in={language, "en"})}
    consent_type = types.get(language) or types.get("en")
    if consent_type is None:
        return "", ""
    return (consent_type.subscribe_list or [""])[0], (consent_type.unsubscribe_list or [""])[0]


def binding_values(*, account, user, phone_number=None, extra: dict | None = None) -> dict[str, str]:
    """The value of every BINDING_FIELDS field for this send; `extra` adds or overrides
    (e.g. {"media.title": ..., "media.url": ...} when sharing a media item)."""
    subscribe, unsubscribe = _consent_keywords(account.language)
    business = ""
    if phone_number is not None:
        business = phone_number.verified_name or phone_number.waba.name
    values = {
        "account.name": account.name,
        "account.specialty": account.specialty,
        "rep.full_name": (user.get_full_name() or user.get_username()) if user else "",
        "rep.first_name": (user.first_name or user.get_username()) if user else "",
        "rep.last_name": user.last_name if user else "",
        "business.name": business,
        "consent.subscribe_keyword": subscribe,
        "consent.unsubscribe_keyword": unsubscribe,
        "media.title": "",
        "media.url": "",
    }
    values.update({k: str(v) for k, v in (extra or {}).items() if k in BINDING_FIELDS})
    return values


def render_with(*, template: MessageTemplate, values: dict[str, str]) -> tuple[str, dict[str, str]]:
    """(text, parameters) for `template` given precomputed binding values.

    `parameters` maps each placeholder to its value, in the order Meta expects them:
    numeric placeholders by number ({{1}}, {{2}}, ...), named ones by first appearance.
    A placeholder without a binding stays visible in the text as written, so a
    misconfigured template shows up in the preview instead of silently losing words.
    """
    bindings = template.bindings if isinstance(template.bindings, dict) else {}
    names = template.placeholders
    if all(n.isdigit() for n in names):
        names = sorted(names, key=int)
    parameters = {n: values.get(str(bindings[n]), "") for n in names if n in bindings}

    def fill(match):
        name = match.group(1)
        return parameters[name] if name in parameters else match.group(0)

    return PLACEHOLDER_RE.sub(fill, template.body), parameters


def render_template(*, template: MessageTemplate, account, user, phone_number=None, extra: dict | None = None):
    """Render one template for one send: returns (text, parameters)."""
    values = binding_values(account=account, user=user, phone_number=phone_number, extra=extra)
    return render_with(template=template, values=values)
