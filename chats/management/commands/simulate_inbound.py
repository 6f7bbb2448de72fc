"""python manage.py simulate_inbound --from +447700900001 --to 100000000000001 --text "hello" [--file scan.jpg]"""
import mimetypes
from pathlib import Path

import httpx
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from chats.devtools.simulator import SimulatedFile, post_inbound, simulate_inbound


class Command(BaseCommand):
    help = ("Write to a business number as an HCP: a signed webhook POSTed to the running server (its open "
            "sockets see it live), or received in this process with --in-process.")

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="wa_from", required=True, help="HCP's number, E.164 (+447700900001), or WhatsApp user id (US.1349…)")
        parser.add_argument("--to", dest="phone_number_id", required=True, help="business phone_number_id")
        parser.add_argument("--text", default="", help="the text; with --file, the caption")
        parser.add_argument("--file", dest="file_path", default=None,
                            help="send this file as the HCP (photo, video, audio or document; sandbox backend)")
        parser.add_argument("--reply-to", dest="context_wamid", default="", help="wamid the HCP answers")
        parser.add_argument("--server", default=None,
                            help="the running server's address (default PUBLIC_BASE_URL, which follows "
                                 "`make run`'s HOST and PORT)")
        parser.add_argument("--in-process", action="store_true",
                            help="receive the webhook in this process instead (no server needed; live events "
                                 "then reach only this process)")

    def handle(self, *args, wa_from, phone_number_id, text, context_wamid, server, in_process, file_path, **options):
        if not text and not file_path:
            raise CommandError("give --text, --file or both")
        file = _read_file(file_path) if file_path else None
        try:
            if in_process:
                self._in_process(wa_from, phone_number_id, text, context_wamid, file)
            else:
                self._to_server(server or settings.PUBLIC_BASE_URL, wa_from, phone_number_id, text, context_wamid,
                                file)
        except ValidationError as exc:
            raise CommandError(f"--from: {' '.join(exc.messages)}") from exc

    def _to_server(self, server, wa_from, phone_number_id, text, context_wamid, file):
        try:
            status, wamid, message = post_inbound(server=server, wa_from=wa_from, phone_number_id=phone_number_id,
                                                  text=text, context_wamid=context_wamid, file=file)
        except httpx.HTTPError as exc:
            raise CommandError(f"no server answered at {server} ({exc}); start it with `make run`, give "
                               f"--server, or use --in-process") from exc
        if status != 200:
            raise CommandError(f"the server at {server} refused the webhook ({status})")
        self._report(wamid, message, f"posted to {server}; {wamid} is not processed yet (a worker will)")

    def _in_process(self, wa_from, phone_number_id, text, context_wamid, file):
        result = simulate_inbound(wa_from=wa_from, phone_number_id=phone_number_id, text=text,
                                  context_wamid=context_wamid, file=file)
        if result.outcome.status_code != 200:
            raise CommandError(f"webhook refused ({result.outcome.status_code}): {result.outcome.detail}")
        self._report(result.wamid, result.message,
                     f"stored webhook {result.outcome.event.pk}; {result.wamid} awaits a worker")

    def _report(self, wamid, message, pending_note):
        if message is None:
            self.stdout.write(pending_note)
        elif message.thread_id:
            self.stdout.write(self.style.SUCCESS(
                f"{wamid} → {message.thread.user.get_username()}'s thread {message.thread_id}"))
        else:
            self.stdout.write(self.style.WARNING(f"{wamid} kept as unrouted: {message.unrouted_reason}"))


def _read_file(path: str) -> SimulatedFile:
    try:
        content = Path(path).read_bytes()
    except OSError as exc:
        raise CommandError(f"--file: {exc}") from exc
    mime_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
    return SimulatedFile(content=content, mime_type=mime_type, filename=Path(path).name)
