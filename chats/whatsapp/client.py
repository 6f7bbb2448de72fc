"""The Cloud API over HTTP (httpx): request bodies, calls, and Meta's errors as exceptions."""
from __future__ import annotations

import json
import re
import threading

import httpx
from django.conf import settings

LINK_RE = re.compile(r"(https?://|www\.)\S+", re.IGNORECASE)
NUMERIC_PLACEHOLDER = re.compile(r"^\d+$")


class GraphError(Exception):
    """Meta answered with an error. `code` is Meta's error code (None when the body had none)."""

    def __init__(self, *, http_status: int, code: int | None, title: str, details: str = "", raw=None):
        super().__init__(f"{http_status} {code}: {title}")
        self.http_status = http_status
        self.code = code
        self.title = title
        self.details = details
        self.raw = raw


class GraphUnreachable(Exception):
    """The request never reached Meta (connect failure or connect timeout): safe to send again."""


class GraphOutcomeUnknown(Exception):
    """The request may have reached Meta (read/write timeout, dropped connection): sending again may duplicate."""


class MediaTooLarge(Exception):
    """The file is bigger than the cap the caller gave: the download stopped there."""

    def __init__(self, size: int | None, max_bytes: int):
        super().__init__(f"larger than {max_bytes} bytes" + (f" ({size} bytes)" if size is not None else ""))
        self.size = size
        self.max_bytes = max_bytes


ERROR_BODY_LIMIT = 64 * 1024  # what a failed download's error body may take in memory


# --- request bodies -------------------------------------------------------------------------

DIGITS = re.compile(r"^\d{6,16}$")


def _envelope(*, to: str = "", recipient: str = "", reply_to_wamid: str = "", callback_data: str = "") -> dict:
    """The fields every send shares. An HCP is addressed by phone number (`to`, digits) or by
    business-scoped user id (`recipient`): a user id in `to` is accepted by Meta and silently dropped."""
    if to and not DIGITS.match(to):
        raise ValueError("`to` takes a phone number's digits; a WhatsApp user id goes in `recipient`")
    if bool(to) == bool(recipient):
        raise ValueError("a send needs exactly one of `to` (phone number) or `recipient` (user id)")
    body = {"messaging_product": "whatsapp", "recipient_type": "individual"} | (
        {"to": to} if to else {"recipient": recipient})
    if reply_to_wamid:
        body["context"] = {"message_id": reply_to_wamid}
    if callback_data:
        # Meta echoes this in status webhooks, which lets a status find its message
        # even before (or without) our storing the wamid.
        body["biz_opaque_callback_data"] = callback_data
    return body


def text_payload(*, to: str = "", recipient: str = "", body: str, reply_to_wamid: str = "",
                 callback_data: str = "") -> dict:
    """A `text` message; `preview_url` is true when the body holds a link."""
    return _envelope(to=to, recipient=recipient, reply_to_wamid=reply_to_wamid, callback_data=callback_data) | {
        "type": "text",
        "text": {"preview_url": bool(LINK_RE.search(body)), "body": body},
    }


def template_payload(
    *, to: str = "", recipient: str = "", name: str, language: str, parameters: list[tuple[str, str]],
    reply_to_wamid: str = "", callback_data: str = "",
) -> dict:
    """A `template` message. `parameters` are (placeholder, value) in the body's order."""
    template: dict = {"name": name, "language": {"code": language}}
    if parameters:
        params = []
        for placeholder, value in parameters:
            param = {"type": "text", "text": value}
            if not NUMERIC_PLACEHOLDER.match(placeholder):  # named placeholders ({{first_name}}) carry their name
                param["parameter_name"] = placeholder
            params.append(param)
        template["components"] = [{"type": "body", "parameters": params}]
    return _envelope(to=to, recipient=recipient, reply_to_wamid=reply_to_wamid, callback_data=callback_data) | {
        "type": "template",
        "template": template,
    }


def read_payload(*, wamid: str, typing_indicator: bool = False) -> dict:
    """Mark the HCP's message `wamid` (and every earlier one) read; with `typing_indicator`, also show
    the HCP that we are typing (until we answer, or about 25 seconds)."""
    body = {"messaging_product": "whatsapp", "status": "read", "message_id": wamid}
    if typing_indicator:
        body["typing_indicator"] = {"type": "text"}
    return body


def reaction_payload(*, to: str = "", recipient: str = "", message_wamid: str, emoji: str,
                     callback_data: str = "") -> dict:
    """A `reaction` to the message `message_wamid`; an empty `emoji` removes the reaction."""
    return _envelope(to=to, recipient=recipient, callback_data=callback_data) | {
        "type": "reaction",
        "reaction": {"message_id": message_wamid, "emoji": emoji},
    }


# --- calls --------------------------------------------------------------------------------

class GraphClient:
    def __init__(self, *, access_token: str, base_url: str | None = None, version: str | None = None,
                 timeout: float | None = None):
        self.base = f"{(base_url or settings.WHATSAPP_GRAPH_URL).rstrip('/')}/{version or settings.WHATSAPP_API_VERSION}"
        total = timeout if timeout is not None else settings.WHATSAPP_TIMEOUT_SECONDS
        self.timeout = httpx.Timeout(total, connect=min(total, 5.0))
        self.headers = {"Authorization": f"Bearer {access_token}"}

    def send_message(self, *, phone_number_id: str, payload: dict, before_send=None) -> dict:
        """POST /{phone_number_id}/messages; returns Meta's JSON answer.

        `before_send` (e.g. waiting for a rate slot) runs after the HTTP client is ready,
        right before the request leaves, so the slot's time is the request's time.
        """
        return self._request("POST", f"{self.base}/{phone_number_id}/messages", json=payload,
                             before_send=before_send)

    def message_templates(self, *, waba_id: str, page_size: int = 100) -> list[dict]:
        """Every template of a WABA, following `paging.next` until Meta has no more pages."""
        url = f"{self.base}/{waba_id}/message_templates"
        params: dict | None = {
            "limit": page_size,
            "fields": "id,name,language,status,category,components,rejected_reason",
        }
        templates: list[dict] = []
        for _ in range(1000):  # a bound, in case a server keeps handing out the same cursor
            data = self._request("GET", url, params=params)
            templates.extend(t for t in data.get("data") or [] if isinstance(t, dict))
            paging = data.get("paging") or {}
            if paging.get("next"):
                url, params = paging["next"], None  # the next URL carries every query parameter
            else:
                break  # Meta: no `next` means this was the last page (cursors.after is present even then)
        return templates

    def media_info(self, *, media_id: str) -> dict:
        """GET /{media-id}: the media's short-lived download `url`, `mime_type`, `sha256` and `file_size`."""
        return self._request("GET", f"{self.base}/{media_id}")

    def media_download(self, *, url: str, into, max_bytes: int) -> int:
        """Stream the file at Meta's `url` (with the same token) into the binary file `into`; returns its
        size. Raises MediaTooLarge as soon as the file is known to pass `max_bytes`, before or while
        reading: never more than `max_bytes` is taken."""
        try:
            with _http().stream("GET", url, headers=self.headers, timeout=self.timeout) as response:
                if not response.is_success:
                    text = _read_at_most(response, ERROR_BODY_LIMIT)
                    try:
                        data = json.loads(text)
                    except ValueError:
                        data = None
                    raise _graph_error(response.status_code, data, text.decode(errors="replace"))
                declared = response.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise MediaTooLarge(int(declared), max_bytes)
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise MediaTooLarge(None, max_bytes)
                    into.write(chunk)
                return size
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise GraphUnreachable(str(exc) or type(exc).__name__) from exc
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise GraphOutcomeUnknown(str(exc) or type(exc).__name__) from exc

    def _request(self, method: str, url: str, before_send=None, **kwargs) -> dict:
        http = _http()
        if before_send is not None:
            before_send()
        try:
            response = http.request(method, url, headers=self.headers, timeout=self.timeout, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise GraphUnreachable(str(exc) or type(exc).__name__) from exc
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise GraphOutcomeUnknown(str(exc) or type(exc).__name__) from exc
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.is_success and isinstance(data, dict):
            return data
        raise _graph_error(response.status_code, data, response.text)


def _read_at_most(response: httpx.Response, limit: int) -> bytes:
    body = b""
    for chunk in response.iter_bytes():
        body += chunk[: limit - len(body)]
        if len(body) >= limit:
            break
    return body


_shared = None
_shared_lock = threading.Lock()


def _http() -> httpx.Client:
    """One pooled client per process: keep-alive connections and no per-request TLS setup, so a
    request leaves soon after its rate slot is granted. httpx.Client is thread-safe."""
    global _shared
    if _shared is None:
        with _shared_lock:
            if _shared is None:
                _shared = httpx.Client(limits=httpx.Limits(max_connections=100, max_keepalive_connections=20))
    return _shared


def _graph_error(http_status: int, data, text: str) -> GraphError:
    error = data.get("error") if isinstance(data, dict) and isinstance(data.get("error"), dict) else {}
    try:
        code = int(error.get("code"))
    except (TypeError, ValueError):
        code = None
    title = error.get("error_user_title") or error.get("title") or error.get("message") or f"HTTP {http_status}"
    error_data = error.get("error_data") if isinstance(error.get("error_data"), dict) else {}
    details = error_data.get("details") or error.get("error_user_msg") or ("" if error else text[:500])
    return GraphError(http_status=http_status if not (200 <= http_status < 300) else 502, code=code,
                      title=str(title), details=str(details), raw=data)
