"""An HCP's rich messages made readable: a shared location, contact cards, interactive replies.

Each function takes the message's content object (`messages[].location`, `.contacts`,
`.interactive`) as Meta documents it, and returns (body, media): a body a rep (and the export)
can read as text, and what the web chat needs to show it (a map link, a card). Pure: never raises
on a shape it does not know, as the parser must not.
"""
from __future__ import annotations

import json

MAP_URL = "https://www.google.com/maps?q={latitude},{longitude}"  # opens the pin on any phone or browser
MAX_CONTACTS = 20  # a card list longer than that is kept as its first 20


def location(content: dict) -> tuple[str, dict]:
    """A shared location: "📍 <name>, <address>" (or its coordinates) and a map link."""
    latitude, longitude = _coordinate(content.get("latitude"), 90), _coordinate(content.get("longitude"), 180)
    where = ", ".join(str(content[k]).strip() for k in ("name", "address") if str(content.get(k) or "").strip())
    media = {"type": "location", "name": str(content.get("name") or ""), "address": str(content.get("address") or "")}
    if latitude is not None and longitude is not None:
        media |= {"latitude": latitude, "longitude": longitude,
                  "map_url": MAP_URL.format(latitude=latitude, longitude=longitude)}
        where = where or f"{latitude}, {longitude}"
    if _web_url(content.get("url")):
        media["url"] = str(content["url"])  # the place's own page, when the HCP shared one
    return f"📍 {where or 'a location'}", media


def contacts(content: list) -> tuple[str, dict]:
    """Contact cards: each one's name, phones, emails and organisation; the body lists them."""
    cards = [_card(item) for item in content[:MAX_CONTACTS] if isinstance(item, dict)]
    lines = []
    for card in cards:
        bits = [card["name"] or "(no name)", card["org"]]
        bits += [p["phone"] for p in card["phones"]] + [e["email"] for e in card["emails"]]
        lines.append(" · ".join(bit for bit in bits if bit))
    label = "contact card" if len(cards) == 1 else f"{len(cards)} contact cards"
    body = f"👤 {label}" + ("".join(f"\n{line}" for line in lines) if lines else "")
    return body, {"type": "contacts", "contacts": cards}


def interactive(content: dict) -> tuple[str, dict] | None:
    """A reply to one of our buttons, lists or flows: (body, media), or None for a shape not known."""
    reply_type = str(content.get("type") or "")
    reply = content.get(reply_type) if isinstance(content.get(reply_type), dict) else {}
    if reply_type in ("button_reply", "list_reply") and reply.get("title"):
        body = str(reply["title"])
        if reply.get("description"):
            body = f"{body} — {reply['description']}"
        return body, {"interactive": reply_type, "reply_id": str(reply.get("id") or "")}
    if reply_type == "nfm_reply":  # a WhatsApp Flow (or address form) the HCP submitted
        name = str(reply.get("name") or "flow")
        answers = _flow_answers(reply.get("response_json"))
        head = "📝 address sent" if name == "address_message" else "📝 form sent"
        if reply.get("body") and str(reply["body"]).strip().lower() != "sent":
            head = f"{head}: {reply['body']}"
        body = head + "".join(f"\n{key}: {value}" for key, value in answers.items())
        return body, {"interactive": reply_type, "flow_name": name, "answers": answers}
    return None


# --- helpers ----------------------------------------------------------------------------------

def _coordinate(raw, bound: float) -> float | None:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return value if -bound <= value <= bound else None


def _web_url(raw) -> bool:
    return isinstance(raw, str) and raw.lower().startswith(("https://", "http://")) and len(raw) <= 2000


def _card(item: dict) -> dict:
    name = item.get("name") if isinstance(item.get("name"), dict) else {}
    full = str(name.get("formatted_name") or "").strip() or " ".join(
        str(name[k]).strip() for k in ("first_name", "middle_name", "last_name") if name.get(k))
    org = item.get("org") if isinstance(item.get("org"), dict) else {}
    return {
        "name": full,
        "org": " — ".join(str(org[k]) for k in ("company", "department", "title") if org.get(k)),
        "phones": [{"phone": str(p.get("phone") or p.get("wa_id") or ""), "type": str(p.get("type") or ""),
                    "wa_id": str(p.get("wa_id") or "")}
                   for p in _dicts(item.get("phones")) if p.get("phone") or p.get("wa_id")],
        "emails": [{"email": str(e["email"]), "type": str(e.get("type") or "")}
                   for e in _dicts(item.get("emails")) if e.get("email")],
        "urls": [str(u["url"]) for u in _dicts(item.get("urls")) if _web_url(u.get("url"))],
    }


def _flow_answers(raw) -> dict:
    """The flow's answers as short text (Meta sends them as a JSON string); `flow_token` is ours, not theirs."""
    try:
        data = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
            for k, v in data.items() if k != "flow_token"}


def _dicts(value) -> list[dict]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
