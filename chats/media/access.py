"""Who may open an HCP's file: the rep whose thread it is in (licensed, while they may see the HCP),
and staff who may export that HCP's history (chats/compliance/export.py `may_export_history`).
Anyone else is told it does not exist."""
from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from chats.compliance.export import may_export_history
from chats.errors import NotFound
from chats.inbox.access import has_engage_license
from chats.inbox.selectors import thread_for_user
from chats.media.storage import stored_media_name
from chats.models import Message


def media_message_for_user(*, user, message_id: int) -> Message:
    """The inbound media message whose stored file `user` may open; NotFound when there is none, when
    its file is not ready, or when `user` may not see it (one answer for all: existence is not revealed)."""
    message = (Message.objects.select_related("thread")
               .filter(pk=message_id, kind=Message.Kind.INBOUND_MEDIA).first())
    if message is None or not _may_open(user, message) or not stored_media_name(message):
        raise NotFound("not_found", _("No such file."))
    return message


def _may_open(user, message: Message) -> bool:
    if not (user and user.is_authenticated):
        return False
    if may_export_history(user=user):
        return True
    if message.thread is None or message.thread.user_id != user.pk or not has_engage_license(user=user):
        return False
    try:
        thread_for_user(user=user, thread_id=message.thread_id)  # still on the HCP's account team
    except NotFound:
        return False
    return True
