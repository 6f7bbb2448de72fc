"""Exporting a history: the streamed HTTP response (admin and API) and the file (management command).

`csv` and `json` are the history's rows; `zip` is an archive of `history.csv` (the same rows) and
every file the HCP sent that Rapport keeps, as `media/<message id>-<name>`, streamed entry by entry.
"""
import datetime
import mimetypes
import zipfile
from collections.abc import Iterator

from django.core.exceptions import SuspiciousFileOperation
from django.http import StreamingHttpResponse
from django.utils.text import get_valid_filename

from chats.compliance.audit import audit
from chats.compliance.history import CHUNK_SIZE, WRITERS, csv_chunks, export_filename, history_rows
from chats.media.storage import open_stored_media, stored_media_name
from chats.models import Account, AuditEvent, Message

ARCHIVE = "zip"
FILE_FORMATS = tuple(WRITERS)  # what the command writes to a text file
FORMATS = (*FILE_FORMATS, ARCHIVE)
FILE_CHUNK_BYTES = 256 * 1024


def may_export_history(*, user) -> bool:
    """Who may take an HCP's history out, through admin and the API alike: active staff who may
    view HCP accounts in admin (the view or change permission, as Django admin grants viewing)."""
    return bool(user.is_active and user.is_staff
                and (user.has_perm("chats.view_account") or user.has_perm("chats.change_account")))


def history_export_response(*, account: Account, fmt: str, actor, since: datetime.datetime | None = None,
                            until: datetime.datetime | None = None) -> StreamingHttpResponse:
    """Stream `account`'s history as `fmt` (csv or json); the export itself is recorded in the trail."""
    chunks, content_type = WRITERS.get(fmt, (None, "application/zip"))
    # Recorded before streaming starts: who took which HCP's history out, in which format and range.
    audit(kind=AuditEvent.Kind.HISTORY_EXPORTED, actor=actor, account=account, format=fmt,
          since=since.isoformat() if since else None, until=until.isoformat() if until else None)
    body = (history_archive_chunks(account=account, since=since, until=until) if fmt == ARCHIVE
            else chunks(history_rows(account=account, since=since, until=until)))
    response = StreamingHttpResponse(body, content_type=content_type)
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


class _Pipe:
    """A write-only stream whose bytes are taken as they come: zipfile writes, the response streams."""

    def __init__(self):
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> Iterator[bytes]:
        parts, self.parts = self.parts, []
        yield from parts


def media_export_path(message: Message) -> str:
    """Where a message's file sits in the archive: `media/<message id>-<name>`, the name made safe."""
    media = message.media
    name = str(media.get("filename") or "").replace("\\", "/").rsplit("/", 1)[-1]
    try:
        name = get_valid_filename(name).lstrip(".")
    except SuspiciousFileOperation:  # nothing usable left of it
        name = ""
    if not name:
        extension = mimetypes.guess_extension(str(media.get("mime_type") or "").split(";")[0].strip()) or ""
        name = f"{media.get('type') or 'file'}{extension}"
    return f"media/{message.pk}-{name}"


def _media_messages(account: Account, since, until) -> Iterator[Message]:
    messages = Message.objects.filter(account=account, kind=Message.Kind.INBOUND_MEDIA, media__status="ready")
    if since is not None:
        messages = messages.filter(created_at__gte=since)
    if until is not None:
        messages = messages.filter(created_at__lt=until)
    return messages.only("id", "media").order_by("id").iterator(chunk_size=CHUNK_SIZE)


def history_archive_chunks(*, account: Account, since: datetime.datetime | None = None,
                           until: datetime.datetime | None = None) -> Iterator[bytes]:
    """The ZIP archive, chunk by chunk: `history.csv`, then the HCP's files. Memory holds a chunk, never
    a file (zipfile writes to an unseekable stream with data descriptors)."""
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, "w") as archive:
        with archive.open(zipfile.ZipInfo("history.csv", date_time=_now_tuple()), "w") as entry:
            for text in csv_chunks(history_rows(account=account, since=since, until=until)):
                entry.write(text.encode())
                yield from pipe.take()
        for message in _media_messages(account, since, until):
            info = zipfile.ZipInfo(media_export_path(message), date_time=_now_tuple())
            with open_stored_media(stored_media_name(message)) as source, archive.open(info, "w") as entry:
                while chunk := source.read(FILE_CHUNK_BYTES):
                    entry.write(chunk)
                    yield from pipe.take()
    yield from pipe.take()


def _now_tuple() -> tuple:
    return datetime.datetime.now(datetime.UTC).timetuple()[:6]
