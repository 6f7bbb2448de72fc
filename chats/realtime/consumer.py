"""`/ws/chat/`: the live event stream of one rep.

The consumer authenticates, joins the user's group and forwards what
`chats.realtime.events.publish_on_commit` sends there. It holds no business rule:
a user only ever hears about their own threads because publishers address
the thread owner's group and nobody else's.
"""
import asyncio
import json
import logging

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.utils import timezone

from chats.realtime.auth import SUBPROTOCOL, has_engage_license, session_user, token_from_subprotocols, user_for_token
from chats.realtime.events import user_group

logger = logging.getLogger(__name__)

# Application close codes (4000-4999 are ours under RFC 6455).
CLOSE_UNAUTHENTICATED = 4401
CLOSE_NO_LICENSE = 4403


class ChatConsumer(AsyncJsonWebsocketConsumer):
    # Seconds a socket without a session or token subprotocol has to send {"type": "auth"}.
    auth_timeout = 5.0

    async def connect(self):
        self.user = None
        self.group = None
        self._auth_timer = None
        offered = self.scope.get("subprotocols") or []
        # Accept before deciding, so a rejected client sees our close code; closing
        # during the handshake would turn into a bare HTTP 403 (close code 1006).
        # Only "rapport.v1" is ever echoed: the token subprotocol stays a request header.
        await self.accept(SUBPROTOCOL if SUBPROTOCOL in offered else None)

        if user := session_user(self.scope):
            await self._start(user)
            return
        key = token_from_subprotocols(offered)
        if key is not None:
            await self._authenticate_token(key)
            return
        self._auth_timer = asyncio.ensure_future(self._close_if_still_anonymous())

    async def disconnect(self, code):
        if self._auth_timer is not None:
            self._auth_timer.cancel()
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            self.group = None

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        # Malformed input gets an error frame, never a crash; before authentication
        # it is simply not the auth message, so the socket closes.
        content, problem = None, "Send JSON text frames."
        if text_data is not None:
            try:
                content = json.loads(text_data)
            except ValueError:
                problem = "Not valid JSON."
            else:
                problem = None if isinstance(content, dict) else "Send a JSON object with a 'type'."
        if problem is None:
            await self.receive_json(content)
        elif self.user is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
        else:
            await self._error("bad_request", problem)

    async def receive_json(self, content, **kwargs):
        kind = content.get("type")
        if self.user is None:
            # Before authentication the only thing a client may say is who it is.
            if kind == "auth":
                await self._authenticate_token(content.get("token"))
            else:
                await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if kind == "ping":
            await self.send_json({"type": "pong"})
        elif kind == "auth":
            await self._error("already_authenticated", "This socket is already authenticated.")
        else:
            await self._error("unknown_type", "Known client messages: ping.")

    async def chat_events(self, message):
        """A group message from chats/realtime/events.py: each event forwarded unchanged, one frame each, in order."""
        for event in message["events"]:
            await self.send_json(event)

    async def _authenticate_token(self, key):
        if self._auth_timer is not None:
            self._auth_timer.cancel()
            self._auth_timer = None
        user = await user_for_token(key)
        if user is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        await self._start(user)

    async def _start(self, user):
        if not await has_engage_license(user.pk):
            await self.close(code=CLOSE_NO_LICENSE)
            return
        self.user = user
        self.group = user_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        # Taken after joining the group: every event after this instant reaches the
        # socket, everything before it is what the client re-reads over REST.
        await self.send_json({"type": "hello", "user": user.pk, "server_time": timezone.now().isoformat()})

    async def _close_if_still_anonymous(self):
        await asyncio.sleep(self.auth_timeout)
        if self.user is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)

    async def _error(self, code: str, detail: str):
        await self.send_json({"type": "error", "code": code, "detail": detail})
