"""Exporting a history: the streamed HTTP response (admin and API) and the file (management command)."""
import datetime

from django.http import StreamingHttpResponse

from chats.compliance.audit import audit
from chats.compliance.history import WRITERS, export_filename, history_rows
from chats.models import Account, AuditEvent

FORMATS = tuple(WRITERS)


def may_export_history(*, user) -> bool:
    """Who may take an HCP's history out, through admin and the API alike: active staff who may
    view HCP accounts in admin (the view or change permission, as Django admin grants viewing)."""
    return bool(user.is_active and user.is_staff
                and (user.has_perm("chats.view_account") or user.has_perm("chats.change_account")))


def history_export_response(*, account: Account, fmt: str, actor, since: datetime.datetime | None = None,
                            until: datetime.datetime | None = None) -> StreamingHttpResponse:
    """Stream `account`'s history as `fmt` (csv or json); the export itself is recorded in the trail."""
    chunks, content_type = WRITERS[fmt]
    # Recorded before streaming starts: who took which HCP's history out, in which format and range.
    audit(kind=AuditEvent.Kind.HISTORY_EXPORTED, actor=actor, account=account, format=fmt,
          since=since.isoformat() if since else None, until=until.isoformat() if until else None)
    response = StreamingHttpResponse(chunks(history_rows(account=account, since=since, until=until)),
                                     content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{export_filename(account=account, fmt=fmt)}"'
    response["Cache-Control"] = "no-store"
    return response


def history_export_to_file(*, out, fmt: str, since: datetime.datetime | None, until: datetime.datetime | None,
                           account: Account | None = None) -> int:
    """Write the history of every HCP (or one) in [since, until) to the text file `out`; returns the row count."""
    chunks, _ = WRITERS[fmt]
    count = 0

    def counted(rows):
        nonlocal count
        for row in rows:
            count += 1
            yield row

    for text in chunks(counted(history_rows(account=account, since=since, until=until))):
        out.write(text)
    return count
