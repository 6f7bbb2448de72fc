"""Reactions: the HCP's through the signed webhook, a rep's through the API and the fake Graph API.

A reaction sits on the message it reacts to (`reactions` in the message shape), a newer one
replaces it, an empty one removes it, a late older one changes nothing; never a message row.
"""
import json
from datetime import timedelta

import pytest
import time_machine

from chats.models import AuditEvent, Conversation, Message, MessageReaction
from tests.conversations.conftest import T0, api_client, hcp_says, on_commit, send
from tests.whatsapp.conftest import post_webhook

pytestmark = pytest.mark.django_db


def reaction_body(*, number, wa_from, message_wamid, emoji, wamid, at, from_user_id=None) -> dict:
    """A `reaction` in `value.messages`, as Meta documents it; `emoji=None` leaves the key out (a removal)."""
    reaction = {"message_id": message_wamid} | ({} if emoji is None else {"emoji": emoji})
    message = {"from": wa_from, "id": wamid, "timestamp": str(int(at.timestamp())), "type": "reaction",
               "reaction": reaction} | ({"from_user_id": from_user_id} if from_user_id else {})
    return {"object": "whatsapp_business_account", "entry": [{"id": number.waba.waba_id, "changes": [{
        "field": "messages",
        "value": {"messaging_product": "whatsapp",
                  "metadata": {"display_phone_number": number.display_phone_number,
                               "phone_number_id": number.phone_number_id},
                  "contacts": [{"profile": {"name": "Ada"}, "wa_id": wa_from}],
                  "messages": [message]}}]}]}


def hcp_reacts(client, *, ada, number, target, emoji, wamid, minutes, wa_from=None):
    body = reaction_body(number=number, wa_from=wa_from or ada.wa_id, message_wamid=target, emoji=emoji,
                         wamid=wamid, at=T0 + timedelta(minutes=minutes))
    assert post_webhook(client, body).status_code == 200


@pytest.fixture
def world(client, threads, templates, ada, shared_number):
    """Alex holds an open window with Ada; Ada's "Yes please" and Alex's intro template are in his thread."""
    thread = threads["rep.alex"]
    with time_machine.travel(T0, tick=False):
        assert send(thread, template=templates["intro"]).status_code == 201
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        hcp_says(client, account=ada, number=shared_number, text="Yes please", at=T0 + timedelta(minutes=1))
    return {"thread": thread, "intro": thread.messages.get(direction="outbound"),
            "answer": thread.messages.get(direction="inbound")}


def reactions_in_api(thread, message):
    page = api_client(thread.user).get(f"/api/v1/threads/{thread.pk}/messages/").json()
    return next(m["reactions"] for m in page["results"] if m["id"] == message.pk)


# --- the HCP's ----------------------------------------------------------------------------------------------


def test_an_hcp_reaction_sits_on_the_message_and_reaches_the_rep_live(client, world, ada, shared_number, published):
    # given Alex's intro template in his thread
    thread, intro = world["thread"], world["intro"]
    messages_before = Message.objects.count()
    # when Ada reacts to it with 👍
    with time_machine.travel(T0 + timedelta(minutes=2), tick=False):
        hcp_reacts(client, ada=ada, number=shared_number, target=intro.wamid, emoji="👍", wamid="wamid.R1", minutes=2)
    # then no message row; the reaction is on the intro, in the API and in one live event to Alex
    assert Message.objects.count() == messages_before
    expected = [{"emoji": "👍", "by": {"type": "hcp", "id": ada.pk, "name": ada.name},
                 "at": "2025-03-03T09:02:00Z", "status": "received", "failure_reason": ""}]
    assert reactions_in_api(thread, intro) == expected
    published.assert_called_once_with(thread.user_id, "message.reaction",
                                      {"thread": thread.pk, "message": {"id": intro.pk, "reactions": expected}})
    row = AuditEvent.objects.get(kind="reaction.received")
    assert (row.message_id, row.thread_id, row.details["emoji"], row.details["wamid"]) == (intro.pk, thread.pk, "👍",
                                                                                        "wamid.R1")


def test_a_new_emoji_replaces_a_removal_empties_and_a_late_older_one_changes_nothing(client, world, ada, shared_number):
    intro = world["intro"]
    hcp_reacts(client, ada=ada, number=shared_number, target=intro.wamid, emoji="👍", wamid="wamid.R1", minutes=2)
    hcp_reacts(client, ada=ada, number=shared_number, target=intro.wamid, emoji="❤️", wamid="wamid.R2", minutes=4)
    assert [r["emoji"] for r in reactions_in_api(world["thread"], intro)] == ["❤️"]
    # a reaction written before the ❤️ arrives late: it does not bring 👍 back
    hcp_reacts(client, ada=ada, number=shared_number, target=intro.wamid, emoji="😮", wamid="wamid.R0", minutes=3)
    assert [r["emoji"] for r in reactions_in_api(world["thread"], intro)] == ["❤️"]
    assert AuditEvent.objects.get(kind="reaction.not_applied").details["reason"] == "older than the reaction Rapport holds"
    # Meta's removal: no emoji at all
    hcp_reacts(client, ada=ada, number=shared_number, target=intro.wamid, emoji=None, wamid="wamid.R3", minutes=5)
    assert reactions_in_api(world["thread"], intro) == []
    row = MessageReaction.objects.get()
    assert (row.emoji, row.wamid, row.by_account_id) == ("", "wamid.R3", ada.pk)


def test_a_replayed_reaction_changes_nothing_twice(client, world, ada, shared_number, published):
    intro = world["intro"]
    hcp_reacts(client, ada=ada, number=shared_number, target=intro.wamid, emoji="👍", wamid="wamid.R1", minutes=2)
    published.reset_mock()
    hcp_reacts(client, ada=ada, number=shared_number, target=intro.wamid, emoji="👍", wamid="wamid.R1", minutes=2)
    assert MessageReaction.objects.count() == 1
    assert AuditEvent.objects.filter(kind="reaction.received").count() == 1
    assert published.call_count == 0


@pytest.mark.parametrize("case", ["unknown_message", "someone_else"])
def test_a_reaction_that_cannot_apply_is_audited_not_stored(case, client, world, ada, shared_number, published):
    # given a reaction to a message Rapport does not have, or from a number that is not the message's HCP
    target = "wamid.NOT-OURS" if case == "unknown_message" else world["intro"].wamid
    wa_from = "447700900999" if case == "someone_else" else None
    # when it arrives (twice: Meta retries)
    for _ in range(2):
        hcp_reacts(client, ada=ada, number=shared_number, target=target, emoji="👍", wamid="wamid.RX", minutes=2,
                   wa_from=wa_from)
    # then nothing stored, no message, no event, the webhook body processed cleanly, and one audit row says why
    assert not MessageReaction.objects.exists()
    assert not Message.objects.filter(wamid="wamid.RX").exists()
    assert published.call_count == 0
    row = AuditEvent.objects.get(kind="reaction.not_applied")
    assert row.details["reason"] == {"unknown_message": "no message with that id in Rapport",
                                     "someone_else": "the sender is not this message's HCP"}[case]


def test_a_reaction_without_a_message_id_or_with_junk_is_no_500(client, world, shared_number, ada):
    body = reaction_body(number=shared_number, wa_from=ada.wa_id, message_wamid="", emoji="👍", wamid="wamid.RJ",
                         at=T0)
    body["entry"][0]["changes"][0]["value"]["messages"][0]["reaction"] = ["not", "an", "object"]
    assert post_webhook(client, json.dumps(body).encode()).status_code == 200
    assert not MessageReaction.objects.exists()
    assert AuditEvent.objects.filter(kind="reaction.not_applied").count() == 1


# --- a rep's -------------------------------------------------------------------------------------------------


def react(thread, message, emoji, *, method="put"):
    client = api_client(thread.user)
    path = f"/api/v1/threads/{thread.pk}/messages/{message.pk}/reaction"
    with on_commit():
        if method == "delete":
            return client.delete(path)
        return client.put(path, {"emoji": emoji}, format="json")


def test_a_rep_reacts_inside_the_window_through_meta(world, fake_graph, published, alex):
    thread, answer = world["thread"], world["answer"]
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        response = react(thread, answer, "🙏")
    # then Meta got a reaction to Ada's message, and the reaction is sent with its own wamid
    assert response.status_code == 200, response.json()
    posted = fake_graph.messages_posted()[-1].json
    assert posted["type"] == "reaction" and posted["to"] == "447700900001"
    assert posted["reaction"] == {"message_id": answer.wamid, "emoji": "🙏"}
    row = MessageReaction.objects.get()
    assert (row.by_user_id, row.emoji, row.status) == (alex.pk, "🙏", "sent") and row.wamid.startswith("wamid.FAKE")
    by = {"type": "rep", "id": alex.pk, "name": "Alex Morgan"}
    queued = {"emoji": "🙏", "by": by, "at": "2025-03-03T09:05:00Z", "status": "queued", "failure_reason": ""}
    assert response.json() == {"thread": thread.pk, "message": {"id": answer.pk, "reactions": [queued]}}
    # the rep heard of it queued, then sent
    assert [c.args for c in published.call_args_list] == [
        (alex.pk, "message.reaction", {"thread": thread.pk, "message": {"id": answer.pk, "reactions": [queued]}}),
        (alex.pk, "message.reaction", {"thread": thread.pk, "message": {
            "id": answer.pk, "reactions": [queued | {"status": "sent"}]}}),
    ]
    assert list(AuditEvent.objects.filter(kind__startswith="reaction.").order_by("id").values_list("kind", flat=True)) \
        == ["reaction.queued", "reaction.sent"]
    # the same emoji again sends nothing more; DELETE removes it at Meta with an empty emoji
    with time_machine.travel(T0 + timedelta(minutes=6), tick=False):
        assert react(thread, answer, "🙏").status_code == 200
        assert len(fake_graph.messages_posted()) == 1
        removed = react(thread, answer, "", method="delete")
    assert removed.status_code == 200 and removed.json()["message"]["reactions"] == []
    assert fake_graph.messages_posted()[-1].json["reaction"] == {"message_id": answer.wamid, "emoji": ""}


def test_a_rep_reaction_outside_the_window_is_refused_like_free_text(world, fake_graph):
    thread, answer = world["thread"], world["answer"]
    with time_machine.travel(T0 + timedelta(hours=25), tick=False):
        response = react(thread, answer, "👍")
        text = send(thread, text="Hello")
    assert response.status_code == text.status_code == 409
    assert response.json()["code"] == text.json()["code"] == "window_closed"
    assert not MessageReaction.objects.exists() and fake_graph.messages_posted() == []
    assert AuditEvent.objects.filter(kind="send.refused", details__send_kind="reaction").count() == 1


@pytest.mark.parametrize("emoji", ["thumbs up", "👍👍", "a", "👍 ", "1"])
def test_a_reaction_must_be_one_emoji(emoji, world):
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        response = react(world["thread"], world["answer"], emoji)
    if emoji == "👍 ":  # surrounding space is trimmed: one emoji
        assert response.status_code == 200
        return
    assert response.status_code == 400 and response.json()["code"] == "invalid_emoji"


@pytest.mark.parametrize("emoji", ["👍🏽", "🇫🇷", "👨‍👩‍👧", "❤️", "1️⃣", "🫨"])
def test_composed_emoji_count_as_one(emoji, world):
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        assert react(world["thread"], world["answer"], emoji).status_code == 200


def test_only_messages_of_the_rep_s_own_thread(world, threads, client, ada, shared_number):
    # Blair's thread holds none of Alex's messages: his message ids are not found there
    blair_thread = threads["rep.blair"]
    response = react(blair_thread, world["answer"], "👍")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_a_failed_reaction_says_why(world, fake_graph):
    fake_graph.error(131026, "Message undeliverable")
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        response = react(world["thread"], world["answer"], "👍")
    assert response.status_code == 200
    row = MessageReaction.objects.get()
    assert row.status == "failed"
    assert row.failure_reason == "the HCP's number cannot receive this message (not on WhatsApp, or an old app)"
    reaction = reactions_in_api(world["thread"], world["answer"])[0]
    assert (reaction["status"], reaction["failure_reason"]) == ("failed", row.failure_reason)
    assert AuditEvent.objects.get(kind="reaction.failed").details["error_code"] == 131026


def test_a_reaction_failed_later_by_meta_status_is_marked(client, world, fake_graph, shared_number):
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        react(world["thread"], world["answer"], "👍")
    row = MessageReaction.objects.get()
    status = {"object": "whatsapp_business_account", "entry": [{"id": shared_number.waba.waba_id, "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": shared_number.display_phone_number,
                         "phone_number_id": shared_number.phone_number_id},
            "statuses": [{"id": row.wamid, "status": "failed", "timestamp": str(int(T0.timestamp()) + 400),
                          "recipient_id": "447700900001", "biz_opaque_callback_data": f"rapport:reaction:{row.pk}",
                          "errors": [{"code": 131026, "title": "Message undeliverable"}]}]}}]}]}
    assert post_webhook(client, status).status_code == 200
    row.refresh_from_db()
    assert row.status == "failed" and "cannot receive" in row.failure_reason


def test_hcp_and_rep_reactions_show_together(client, world, ada, shared_number, fake_graph):
    answer = world["answer"]
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        react(world["thread"], answer, "🙏")
    hcp_reacts(client, ada=ada, number=shared_number, target=answer.wamid, emoji="👍", wamid="wamid.R9", minutes=6)
    assert [(r["by"]["type"], r["emoji"]) for r in reactions_in_api(world["thread"], answer)] == [
        ("rep", "🙏"), ("hcp", "👍")]


def test_an_hcp_reaction_does_not_roll_the_window(client, world, ada, shared_number):
    before = Conversation.objects.get().window_expires_at
    hcp_reacts(client, ada=ada, number=shared_number, target=world["intro"].wamid, emoji="👍", wamid="wamid.RW",
               minutes=60)
    assert Conversation.objects.get().window_expires_at == before
