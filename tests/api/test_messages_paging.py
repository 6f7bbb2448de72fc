"""GET /threads/{id}/messages/?latest=1: the newest page first, then back in time with `previous`."""
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from django.utils import timezone

from chats.models import Message, MessageReaction

from tests.api.conftest import MessageFactory, api_client
from tests.factories import ThreadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def thread(alex, ada, shared_number):
    return ThreadFactory(user=alex, account=ada, phone_number=shared_number)


def add_messages(thread, count: int) -> list[int]:
    """`count` messages a second apart, oldest first; their ids in that order."""
    start = timezone.now() - timedelta(hours=1)
    ids = []
    for i in range(count):
        message = MessageFactory(thread=thread)
        # created_at is auto_now_add: set it afterwards so the order is explicit, not a race.
        Message.objects.filter(pk=message.pk).update(created_at=start + timedelta(seconds=i))
        ids.append(message.pk)
    return ids


def ids_of(page: dict) -> list[int]:
    return [m["id"] for m in page["results"]]


def test_latest_gives_the_newest_page_in_chronological_order(alex, thread):
    # given: 7 messages
    ids = add_messages(thread, 7)
    # when: the client asks for the newest 3
    page = api_client(alex).get(f"/api/v1/threads/{thread.id}/messages/", {"latest": 1, "page_size": 3}).json()
    # then: the last 3, oldest of them first; nothing newer; a cursor back in time
    assert ids_of(page) == ids[4:]
    assert page["next"] is None
    assert page["previous"] is not None
    query = parse_qs(urlparse(page["previous"]).query)
    assert "cursor" in query and "latest" not in query


def test_previous_walks_back_to_the_first_message_without_gaps_or_repeats(alex, thread):
    ids = add_messages(thread, 8)
    client = api_client(alex)
    page = client.get(f"/api/v1/threads/{thread.id}/messages/?latest=1&page_size=3").json()
    pages = [ids_of(page)]
    while page["previous"]:
        page = client.get(page["previous"]).json()
        pages.append(ids_of(page))
    # newest page first, each page chronological; together every message exactly once
    assert pages == [ids[5:8], ids[2:5], ids[0:2]]
    # and from an older page `next` goes forward again to the newer one
    forward = client.get(client.get(f"/api/v1/threads/{thread.id}/messages/?latest=1&page_size=3").json()["previous"]).json()
    assert ids_of(client.get(forward["next"]).json()) == ids[5:8]


def test_latest_on_a_short_thread_is_everything_with_no_cursors(alex, thread):
    ids = add_messages(thread, 2)
    page = api_client(alex).get(f"/api/v1/threads/{thread.id}/messages/?latest=true").json()
    assert ids_of(page) == ids
    assert page["next"] is None and page["previous"] is None


def test_latest_on_an_empty_thread(alex, thread):
    page = api_client(alex).get(f"/api/v1/threads/{thread.id}/messages/?latest=1").json()
    assert page == {"next": None, "previous": None, "results": []}


def test_without_latest_the_oldest_first_contract_is_unchanged(alex, thread):
    ids = add_messages(thread, 5)
    for value in ("", "0", "no"):
        page = api_client(alex).get(f"/api/v1/threads/{thread.id}/messages/", {"latest": value, "page_size": 2}).json()
        assert ids_of(page) == ids[:2]
        assert page["previous"] is None and page["next"] is not None


def test_a_cursor_wins_over_latest(alex, thread):
    ids = add_messages(thread, 5)
    client = api_client(alex)
    first = client.get(f"/api/v1/threads/{thread.id}/messages/?page_size=2").json()
    page = client.get(first["next"] + "&latest=1").json()
    assert ids_of(page) == ids[2:4]


def test_latest_on_another_reps_thread_is_404(alex, blair, ada, shared_number):
    theirs = ThreadFactory(user=blair, account=ada, phone_number=shared_number)
    MessageFactory(thread=theirs, body="Blair's secret")
    response = api_client(alex).get(f"/api/v1/threads/{theirs.id}/messages/?latest=1")
    assert response.status_code == 404
    assert "Blair's secret" not in response.content.decode()


@pytest.mark.parametrize("size", [12, 60])
def test_latest_and_previous_pages_cost_the_same_queries(size, alex, thread, django_assert_num_queries):
    # given: `size` messages, each replying to the one before (the quote is select_related), each with
    # the HCP's reaction and the rep's
    ids = add_messages(thread, size)
    for previous, current in zip(ids, ids[1:]):
        Message.objects.filter(pk=current).update(reply_to_id=previous)
    for message_id in ids:
        MessageReaction.objects.create(message_id=message_id, by_account=thread.account, emoji="👍",
                                       reacted_at=timezone.now())
        MessageReaction.objects.create(message_id=message_id, by_user=alex, emoji="❤️", reacted_at=timezone.now(),
                                       status="sent")
    client = api_client(alex)
    # the token with the user's license, then the thread, then one page query and one for the page's
    # reactions (with who gave them): 4 whatever the size
    with django_assert_num_queries(4):
        page = client.get(f"/api/v1/threads/{thread.id}/messages/?latest=1&page_size=4").json()
    assert ids_of(page) == ids[-4:]
    with django_assert_num_queries(4):
        older = client.get(page["previous"]).json()
    assert ids_of(older) == ids[-8:-4]
    assert older["results"][-1]["reply_to"]["id"] == ids[-6]
    assert [(r["emoji"], r["by"]["type"], r["by"]["name"]) for r in older["results"][-1]["reactions"]] == [
        ("👍", "hcp", thread.account.name), ("❤️", "rep", alex.get_full_name())]


def test_schema_describes_latest(alex):
    schema = api_client(alex).get("/api/schema/?format=json").json()
    parameters = schema["paths"]["/api/v1/threads/{thread_id}/messages"]["get"]["parameters"]
    names = {p["name"] for p in parameters}
    assert {"cursor", "page_size", "latest"} <= names
