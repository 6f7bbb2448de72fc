"""Every list endpoint runs the same number of queries whatever the number of rows.

Each request costs 2 queries before the view: the token (with its user) and the profile
for the license check.
"""
from datetime import timedelta

import pytest
from django.utils import timezone

from chats.models import MessageReaction

from tests.api.conftest import ConversationFactory, MessageFactory, api_client
from tests.factories import (
    AccountFactory, ConsentTypeFactory, MediaItemFactory, PhoneNumberFactory, TemplateFactory, ThreadFactory,
)

pytestmark = pytest.mark.django_db
SIZES = [2, 12]


def build(size, alex, blair, number, waba):
    """`size` accounts with threads, messages (some replies, some templates) and consent of each kind."""
    ConsentTypeFactory(language="en")
    template = TemplateFactory(waba=waba, usage="start_conversation")
    for i in range(size):
        account = AccountFactory(team=[alex, blair], consent=["opted_in", "opted_out", False][i % 3])
        thread = ThreadFactory(user=alex, account=account, phone_number=number,
                               last_activity_at=timezone.now() - timedelta(minutes=i))
        previous = None
        for j in range(size):
            previous = MessageFactory(thread=thread, direction=["inbound", "outbound"][j % 2], reply_to=previous,
                                      template=template if j % 3 == 0 else None, sender=alex if j % 2 else None)
            MessageReaction.objects.create(message=previous, by_account=account, emoji="👍", reacted_at=timezone.now())
            if j % 2:
                MessageReaction.objects.create(message=previous, by_user=alex, emoji="🙏", reacted_at=timezone.now())
        ConversationFactory(account=account, phone_number=number, owner=alex, last_inbound_at=timezone.now())
        AccountFactory(team=[alex])  # an account without a thread
        MediaItemFactory()
        TemplateFactory(waba=waba, kind="text_only", meta_status="")
        PhoneNumberFactory(waba=waba, reps=[alex])
    return thread


@pytest.fixture
def number(waba, alex, blair):
    return PhoneNumberFactory(waba=waba, reps=[alex, blair])


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("path,expected", [
    ("/api/v1/me/", 2),
    ("/api/v1/accounts/", 2),
    ("/api/v1/accounts/?search=Dr", 2),
    ("/api/v1/threads/", 3),
    ("/api/v1/threads/{thread}/", 6),
    ("/api/v1/threads/{thread}/messages/", 4),  # the page, then its reactions with who gave them
    ("/api/v1/templates/?thread={thread}", 6),
    ("/api/v1/media/", 2),
])
def test_list_query_count_does_not_grow(size, path, expected, alex, blair, number, waba, django_assert_num_queries):
    thread = build(size, alex, blair, number, waba)
    client = api_client(alex)
    url = path.format(thread=thread.id)
    with django_assert_num_queries(expected):
        response = client.get(url)
    assert response.status_code == 200
    body = response.json()
    rows = body["results"] if isinstance(body, dict) and "results" in body else body
    assert rows, "the endpoint must return rows for the count to mean something"
