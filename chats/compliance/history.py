"""One HCP's whole history (or everyone's, for a date range), streamed as CSV or JSON.

`history_rows` yields flat dicts with the same keys (COLUMNS) for every kind of
record: messages (with their statuses and timestamps), the consent record,
consent events, audit events (routing decisions, link opens, window
changes, ...), and safety cases with their trails. Each table is read with `.iterator(chunk_size=...)`, so memory
holds one chunk, never the whole history; the writers turn rows into text one
at a time for a StreamingHttpResponse or a file.
"""
import csv
import datetime
import json
from collections.abc import Iterable, Iterator

from django.core.serializers.json import DjangoJSONEncoder

from chats.models import Account, AuditEvent, Message, SafetyCase, SafetyCaseEvent, written_at_expression
from consent.models import ConsentEvent, ConsentRecord

CHUNK_SIZE = 1000  # rows per fetch; the peak memory of an export is about two chunks

COLUMNS = (
    "record", "id", "at", "account_id", "account_name", "phone_number", "thread_id", "thread_owner", "actor",
    "message_id", "direction", "kind", "status", "body", "template", "template_variables", "wamid", "reply_to_id",
    "sent_at", "delivered_at", "read_at", "failed_at", "failure_code", "failure_reason", "error_code",
    "error_title", "previous_status", "via", "details", "recorded_at", "client_id", "pricing",
)
_BLANK = dict.fromkeys(COLUMNS, "")


def _iso(value) -> str:
    return value.isoformat() if value else ""


def _username(user) -> str:
    return user.get_username() if user is not None else ""


def _in_range(queryset, field: str, since, until):
    if since is not None:
        queryset = queryset.filter(**{f"{field}__gte": since})
    if until is not None:
        queryset = queryset.filter(**{f"{field}__lt": until})
    return queryset


def _for_account(queryset, account: Account | None):
    return queryset if account is None else queryset.filter(account=account)


def _message_rows(account, since, until) -> Iterator[dict]:
    messages = _in_range(_for_account(Message.objects.all(), account), "created_at", since, until)
    messages = messages.select_related("account", "phone_number", "thread__user", "sender", "template")
    # In the order they were written: WhatsApp's time for the HCP's, ours for the rep's.
    messages = messages.alias(written_at=written_at_expression()).order_by("written_at", "id")
    for m in messages.iterator(chunk_size=CHUNK_SIZE):
        yield {
            **_BLANK, "record": "message", "id": m.pk, "at": _iso(m.written_at), "recorded_at": _iso(m.created_at),
            "client_id": str(m.client_id) if m.client_id else "", "pricing": m.pricing or "",
            "account_id": m.account_id or "", "account_name": m.account.name if m.account else "",
            "phone_number": m.phone_number.display_phone_number if m.phone_number else m.wa_phone_number_id,
            "thread_id": m.thread_id or "", "thread_owner": _username(m.thread.user) if m.thread else "",
            "actor": _username(m.sender) if m.sender else (m.wa_from if m.direction == "inbound" else ""),
            "direction": m.direction, "kind": m.kind, "status": m.status, "body": m.body,
            "template": f"{m.template.name} [{m.template.language}]" if m.template else "",
            "template_variables": m.template_variables or "", "wamid": m.wamid or "",
            "reply_to_id": m.reply_to_id or "", "sent_at": _iso(m.sent_at), "delivered_at": _iso(m.delivered_at),
            "read_at": _iso(m.read_at), "failed_at": _iso(m.failed_at), "failure_code": m.failure_code,
            "failure_reason": m.failure_reason, "error_code": m.error_code if m.error_code is not None else "",
            "error_title": m.error_title, "details": m.media or "",
        }


def _evidence(row) -> dict:
    """A consent row's evidence: how consent was obtained and the wording (version and text) agreed to."""
    evidence = {}
    if row.method is not None:
        evidence.update(method=row.method.code, method_label=row.method.label)
    if row.wording is not None:
        evidence.update(wording_version=row.wording.version, wording=row.wording.text)
    return evidence


def _consent_rows(account, since, until) -> Iterator[dict]:
    records = _in_range(_for_account(ConsentRecord.objects.all(), account), "captured_at", since, until)
    for r in records.select_related("account", "captured_by", "consent_type", "method", "wording").order_by(
            "id").iterator(chunk_size=CHUNK_SIZE):
        details = {**({"consent_type": str(r.consent_type)} if r.consent_type else {}), **_evidence(r)}
        yield {
            **_BLANK, "record": "consent_record", "id": r.pk, "at": _iso(r.captured_at),
            "account_id": r.account_id, "account_name": r.account.name, "actor": _username(r.captured_by),
            "status": r.status, "via": r.captured_via, "details": details or "",
        }
    events = _in_range(_for_account(ConsentEvent.objects.all(), account), "at", since, until)
    for e in events.select_related("account", "actor", "method", "wording").order_by("at", "id").iterator(
            chunk_size=CHUNK_SIZE):
        yield {
            **_BLANK, "record": "consent_event", "id": e.pk, "at": _iso(e.at), "account_id": e.account_id,
            "account_name": e.account.name, "actor": _username(e.actor), "status": e.status,
            "previous_status": e.previous_status, "via": e.via, "message_id": e.message_id or "",
            "details": {**(e.details or {}), **_evidence(e)} or "",
        }


def _audit_rows(account, since, until) -> Iterator[dict]:
    events = _in_range(_for_account(AuditEvent.objects.all(), account), "at", since, until)
    if account is None:
        # Across all HCPs means HCP-related rows; admin changes to numbers and the like are not an HCP's history.
        events = events.filter(account__isnull=False)
    events = events.select_related("account", "actor", "phone_number", "thread__user")
    for e in events.order_by("at", "id").iterator(chunk_size=CHUNK_SIZE):
        yield {
            **_BLANK, "record": "audit_event", "id": e.pk, "at": _iso(e.at), "account_id": e.account_id,
            "account_name": e.account.name if e.account else "",
            "phone_number": e.phone_number.display_phone_number if e.phone_number else "",
            "thread_id": e.thread_id or "", "thread_owner": _username(e.thread.user) if e.thread else "",
            "actor": _username(e.actor), "message_id": e.message_id or "", "kind": e.kind,
            "details": e.details or "",
        }


def _safety_rows(account, since, until) -> Iterator[dict]:
    """Possible adverse events (chats/safety/): each case as it stands, then every step of its trail."""
    cases = _in_range(_for_account(SafetyCase.objects.all(), account), "received_at", since, until)
    for c in cases.select_related("account", "rep", "message").order_by("received_at", "id").iterator(
            chunk_size=CHUNK_SIZE):
        yield {
            **_BLANK, "record": "safety_case", "id": c.pk, "at": _iso(c.received_at), "account_id": c.account_id or "",
            "account_name": c.account.name if c.account else "", "thread_id": c.message.thread_id or "",
            "thread_owner": _username(c.rep), "message_id": c.message_id, "status": c.status, "body": c.message.body,
            "details": {"matched_terms": c.matched_terms, "products": c.products, "due_at": _iso(c.due_at),
                        "seen_at": _iso(c.seen_at), "forwarded_at": _iso(c.forwarded_at),
                        "closed_at": _iso(c.closed_at), "close_reason": c.close_reason},
        }
    trail = SafetyCaseEvent.objects.filter(case__in=cases)
    for e in trail.select_related("case__account", "actor").order_by("at", "id").iterator(chunk_size=CHUNK_SIZE):
        yield {
            **_BLANK, "record": "safety_case_event", "id": e.pk, "at": _iso(e.at), "account_id": e.case.account_id or "",
            "account_name": e.case.account.name if e.case.account else "", "actor": _username(e.actor),
            "message_id": e.case.message_id, "kind": e.kind, "body": e.note,
            "details": {"case": e.case_id, **(e.details or {})},
        }


def history_rows(*, account: Account | None, since: datetime.datetime | None = None,
                 until: datetime.datetime | None = None) -> Iterator[dict]:
    """Every row of `account`'s history (all HCPs when None) with `since <= time < until`, table by table."""
    yield from _message_rows(account, since, until)
    yield from _consent_rows(account, since, until)
    yield from _audit_rows(account, since, until)
    yield from _safety_rows(account, since, until)


class _Line:
    """A file-like object whose write() returns the text, so csv.writer can feed a generator."""

    def write(self, text: str) -> str:
        return text


def _cell(value) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False, sort_keys=True)
    return value


def csv_chunks(rows: Iterable[dict]) -> Iterator[str]:
    """The rows as CSV text: a header line, then one line per row."""
    writer = csv.writer(_Line())
    yield writer.writerow(COLUMNS)
    for row in rows:
        yield writer.writerow([_cell(row[c]) for c in COLUMNS])


def json_chunks(rows: Iterable[dict]) -> Iterator[str]:
    """The rows as one JSON array, written element by element (never the whole list in memory)."""
    yield "["
    separator = "\n"
    for row in rows:
        yield separator + json.dumps(row, cls=DjangoJSONEncoder, ensure_ascii=False)
        separator = ",\n"
    yield "\n]\n"


WRITERS = {"csv": (csv_chunks, "text/csv; charset=utf-8"), "json": (json_chunks, "application/json")}


def export_filename(*, account: Account | None, fmt: str) -> str:
    stem = f"hcp-{account.pk}-history" if account is not None else "history"
    return f"{stem}.{fmt}"
