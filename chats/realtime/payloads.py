"""What live events carry, built once so every publisher sends the same shape.

Pure functions over rows already loaded: they never write. `message_fields` is THE message
shape: the REST API answers it (chats/api/serializers.py MessageOutput), `message.created`
carries it, and the export's message rows hold the same values. Everything is JSON- and
msgpack-safe (datetimes as the REST API writes them), because on the services profile events
cross Redis. Load messages with `select_related("reply_to", "template", "sender")` and
`prefetch_related(reactions_prefetch())` to keep the nested objects from costing a query each;
a message loaded without its reactions reads them with one query.
"""
from datetime import datetime

from django.db.models import Prefetch
from django.utils import timezone

from chats.models import Message, MessageReaction, SafetyCase

QUOTE_LENGTH = 80


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= QUOTE_LENGTH else text[: QUOTE_LENGTH - 1] + "…"


def _status_fields(message) -> dict:
    return {
        "id": message.pk,
        "thread": message.thread_id,
        "status": message.status,
        "sent_at": api_datetime(message.sent_at),
        "delivered_at": api_datetime(message.delivered_at),
        "read_at": api_datetime(message.read_at),
        "failed_at": api_datetime(message.failed_at),
        "failure_code": message.failure_code,
        "failure_reason": message.failure_reason,
    }


MESSAGE_MEDIA_PATH = "/api/v1/messages/{id}/media/"  # chats/api/urls.py serves it (session or token)


def inbound_media_fields(message) -> dict:
    """An HCP's file as clients see it: Rapport's own `url` (null until the file is ready), what it is,
    and its fetch `status` (pending, ready, failed; `failure` says why it failed)."""
    media = message.media or {}
    # Stored before files were fetched, or emptied by retention: nothing Rapport can serve.
    status = media.get("status") or "failed"
    ready = status == "ready"
    return {
        "type": media.get("type", ""),
        "url": MESSAGE_MEDIA_PATH.format(id=message.pk) if ready else None,
        "mime_type": media.get("mime_type") or None,
        "size": media.get("size") if ready else media.get("file_size"),
        "sha256": media.get("stored_sha256") if ready else None,
        "filename": media.get("filename") or None,
        "caption": media.get("caption") or None,
        "voice": bool(media.get("voice")),
        "status": status,
        "failure": (media.get("failure") or "The file is not available.") if status == "failed" else None,
    }


def _media_of(message) -> dict | None:
    """What a message carries besides its text: a tracked media link's item, title and link; an HCP's
    file (`inbound_media_fields`); a shared location's name, address, coordinates and map link; contact
    cards."""
    media = message.media or {}
    if message.kind == "media_link" and media:
        return {"media_item": media.get("media_item"), "title": media.get("title", ""), "url": media.get("url", "")}
    if message.kind == "inbound_media":
        return inbound_media_fields(message)
    if message.kind == "location":
        return {key: media.get(key) for key in ("name", "address", "latitude", "longitude", "map_url", "url")}
    if message.kind == "contacts":
        return {"contacts": media.get("contacts") or []}
    return None


def reactions_prefetch() -> Prefetch:
    """What `prefetch_related` takes so a list of messages reads all their reactions in one query."""
    return Prefetch("reactions", queryset=MessageReaction.objects.shown())


def reaction_fields(reaction) -> dict:
    """One reaction as clients see it: the emoji, who gave it (the HCP or a rep, by id and name), when,
    and how its send went (`received` for the HCP's; `queued`, `sent` or `failed` with a reason for a rep's)."""
    if reaction.by_account_id is not None:
        by = {"type": "hcp", "id": reaction.by_account_id, "name": reaction.by_account.name}
    else:
        user = reaction.by_user
        by = {"type": "rep", "id": user.pk, "name": user.get_full_name() or user.get_username()}
    return {"emoji": reaction.emoji, "by": by, "at": api_datetime(reaction.reacted_at), "status": reaction.status,
            "failure_reason": reaction.failure_reason}


def reactions_of(message) -> list[dict]:
    """The message's current reactions (removed ones left out), oldest first: from the prefetch
    (`reactions_prefetch`) when the message was loaded with it, else with one query."""
    rows = getattr(message, "_prefetched_objects_cache", {}).get("reactions")
    if rows is None:
        rows = MessageReaction.objects.filter(message_id=message.pk).shown() if message.pk else []
    return [reaction_fields(reaction) for reaction in rows if reaction.emoji]


def message_fields(message, *, reactions: list[dict] | None = None) -> dict:
    """A message as every client sees it: REST, the `message.created` event, the export.
    `reactions` when the caller knows them (a message just written has none), else `reactions_of`."""
    reply_to = None
    if message.reply_to_id is not None:
        quoted = message.reply_to
        reply_to = {"id": quoted.pk, "wamid": quoted.wamid, "direction": quoted.direction,
                    "quote": _quote(quoted.body)}
    sender = message.sender if message.sender_id is not None else None
    template = message.template if message.template_id is not None else None
    return {
        **_status_fields(message),  # id, thread, status and its times: what `message.status` merges
        "direction": message.direction,
        "kind": message.kind,
        "body": message.body,
        "written_at": api_datetime(message.written_at),
        "created_at": api_datetime(message.created_at),
        "wamid": message.wamid,
        "client_id": str(message.client_id) if message.client_id else None,
        "sender": {"id": sender.pk, "username": sender.get_username(), "full_name": sender.get_full_name()}
        if sender else None,
        "template": {"id": template.pk, "name": template.name, "display_name": template.label,
                     "language": template.language} if template else None,
        "reply_to": reply_to,
        "media": _media_of(message),
        "reactions": reactions_of(message) if reactions is None else reactions,
        "pricing": message.pricing or None,
        "safety_case": safety_case_brief(safety_case_of(message)),
    }


def safety_case_of(message):
    """The message's safety case (chats/safety/), or None: from `select_related("safety_case")` when the
    message was loaded with it, else with one query. Only an HCP's message can have one."""
    if message.direction != Message.Direction.INBOUND or message.pk is None:
        return None
    relation = Message.safety_case.related
    if not relation.is_cached(message):
        relation.set_cached_value(message, SafetyCase.objects.filter(message_id=message.pk).first())
    return relation.get_cached_value(message)


def safety_case_brief(case) -> dict | None:
    """What the message shape says of its safety case: `{id, status, due_at}`, or None."""
    if case is None:
        return None
    return {"id": case.pk, "status": case.status, "due_at": api_datetime(case.due_at)}


def safety_case_fields(case) -> dict:
    """A safety case as the safety-cases API and the `safety_case.changed` event show it. Load the case with
    `select_related("message__thread", "account", "rep")`."""
    message, rep = case.message, case.rep
    return {
        **safety_case_brief(case),
        "message": case.message_id,
        "thread": message.thread_id,
        "text": message.body,
        "account": {"id": case.account_id, "name": case.account.name, "country": case.account.country}
        if case.account_id else None,
        "rep": {"id": rep.pk, "username": rep.get_username(), "full_name": rep.get_full_name()} if rep else None,
        "matched_terms": case.matched_terms,
        "products": case.products,
        "received_at": api_datetime(case.received_at),
        "seen_at": api_datetime(case.seen_at),
        "forwarded_at": api_datetime(case.forwarded_at),
        "closed_at": api_datetime(case.closed_at),
        "close_reason": case.close_reason,
    }


def safety_trail_fields(event) -> dict:
    """One step of a case's trail: what, when, by whom (null: Rapport itself), the note or reason, details."""
    actor = event.actor if event.actor_id is not None else None
    return {"kind": event.kind, "at": api_datetime(event.at),
            "by": {"id": actor.pk, "username": actor.get_username()} if actor else None,
            "note": event.note, "details": event.details}


def safety_case_payload(case) -> dict:
    """Payload of `safety_case.changed`: the thread id, the message's new `safety_case` (to merge by message
    id, as the bubble shows it) and the whole case (`safety_case_fields`)."""
    return {"thread": case.message.thread_id, "message": {"id": case.message_id, "safety_case": safety_case_brief(case)},
            "safety_case": safety_case_fields(case)}


def message_payload(message) -> dict:
    """Payload of `message.created`: the thread id and the whole message (`message_fields`). A message is
    announced as it is created, before anyone could react to it."""
    return {"thread": message.thread_id, "message": message_fields(message, reactions=[])}


def message_reaction_payload(message, *, reactions: list[dict]) -> dict:
    """Payload of `message.reaction`: the thread id, and the message's id with all its reactions now
    (`reactions_of`), to replace the bubble's by message id."""
    return {"thread": message.thread_id, "message": {"id": message.pk, "reactions": reactions}}


def message_status_payload(message) -> dict:
    """Payload of `message.status`: the thread id and the fields that changed, to merge by message id."""
    return {"thread": message.thread_id, "message": _status_fields(message)}


def api_datetime(value: datetime | None) -> str | None:
    """A datetime as the REST API writes it (DRF's ISO 8601 in the current time zone, UTC as "Z")."""
    if value is None:
        return None
    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def state_fields(state) -> dict:
    """A thread's `state` (a ThreadState of chats/conversations/policy.py) as the REST `state` and
    the `thread.state` event show it. Built directly: every HCP message that rolls a window sends
    one to each thread on it."""
    window = state.window
    return {
        "consent": state.consent,
        "window": {"status": window.status, "expires_at": api_datetime(window.expires_at)},
        "locked_by_other": state.locked_by_other,
        "pending_template_by_other": state.pending_template_by_other,
        "shared_history": state.shared_history,
        "can_send_text": state.can_send_text,
        "can_send_template": state.can_send_template,
    }


def thread_state_payload(*, thread_id: int, state) -> dict:
    """Payload of `thread.state`: the thread id and its state, shaped like the REST `state`."""
    return {"thread": thread_id, "state": state_fields(state)}


def consent_changed_payload(*, thread_id: int, account_id: int, consent: str) -> dict:
    """Payload of `consent.changed` for one of the user's threads with that account."""
    return {"thread": thread_id, "account": account_id, "consent": consent}
