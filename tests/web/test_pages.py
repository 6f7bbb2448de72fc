"""The web chat's pages: they render for a licensed rep, refuse the unlicensed with a clear page,
never show another rep's thread, and keep their query count flat as the data grows."""
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from chats.models import Thread
from consent.models import ConsentRecord
from tests.api.conftest import ConversationFactory, MessageFactory
from tests.factories import AccountFactory, MediaItemFactory, PhoneNumberFactory, TemplateFactory, ThreadFactory

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def number(waba, alex, blair):
    return PhoneNumberFactory(waba=waba, reps=[alex, blair])


@pytest.fixture
def ada(alex, blair):
    return AccountFactory(name="Dr. Ada Lovelace", team=[alex, blair])


@pytest.fixture
def thread(alex, ada, number):
    return ThreadFactory(user=alex, account=ada, phone_number=number, last_activity_at=timezone.now())


def test_chat_list_shows_threads_latest_first_with_unread(alex, number, waba):
    # given: two threads, the older with an unread HCP message
    old = ThreadFactory(user=alex, account=AccountFactory(name="Dr. Old", team=[alex]), phone_number=number,
                        last_activity_at=timezone.now() - timedelta(hours=2))
    MessageFactory(thread=old, direction="inbound", body="Are you there?")
    ThreadFactory(user=alex, account=AccountFactory(name="Dr. New", team=[alex]), phone_number=number,
                  last_activity_at=timezone.now())
    # when
    response = client_for(alex).get("/chats/")
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert html.index("Dr. New") < html.index("Dr. Old")
    assert "Are you there?" in html
    assert 'class="unread__n">1<' in html
    assert 'data-testid="compose">Compose Chat<' in html
    assert 'data-testid="tab-chats"' in html


def test_chat_list_without_threads_offers_start_new_chat(alex, number):
    html = client_for(alex).get("/chats/").content.decode()
    assert 'data-testid="compose">Start New Chat<' in html
    assert "No chats yet" in html


def test_thread_page_renders_state_and_quick_templates(alex, thread, waba):
    TemplateFactory(waba=waba, name="intro_meeting_request", usage="start_conversation")
    MediaItemFactory(title="Deck")
    response = client_for(alex).get(f"/chats/{thread.pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="thread-title">Dr. Ada Lovelace<' in html
    assert f'href="/hcps/{thread.account_id}/"' in html  # View Account
    detail = response.context["thread_detail"]
    assert detail["state"]["consent"] == "opted_in"
    assert [t["name"] for t in detail["quick_templates"]] == ["intro_meeting_request"]
    assert 'data-has-media="1"' in html
    assert 'id="thread-data"' in html


def test_another_reps_thread_is_404(blair, thread):
    assert client_for(blair).get(f"/chats/{thread.pk}/").status_code == 404


@pytest.mark.parametrize("path", ["/chats/", "/chats/1/", "/media/1/share/"])
def test_unlicensed_rep_gets_the_license_page(drew, path):
    response = client_for(drew).get(path)
    html = response.content.decode()
    assert response.status_code == 403
    assert "Chats needs the Engage license" in html
    assert "ask your Rapport administrator" in html
    assert 'data-testid="tab-chats"' not in html


def test_unlicensed_rep_sees_accounts_and_media_without_the_chats_tab(drew):
    for path in ("/hcps/", "/media/"):
        response = client_for(drew).get(path)
        assert response.status_code == 200
        assert 'data-testid="tab-chats"' not in response.content.decode()


def test_pages_need_a_signed_in_user():
    for path in ("/chats/", "/hcps/", "/media/"):
        response = Client().get(path)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_accounts_tab_searches_visible_accounts(alex, ada):
    AccountFactory(name="Dr. Hidden")  # not on Alex's team
    AccountFactory(name="Dr. Grace Hopper", team=[alex])
    html = client_for(alex).get("/hcps/?q=ada").content.decode()
    assert "Dr. Ada Lovelace" in html
    assert "Dr. Grace Hopper" not in html and "Dr. Hidden" not in html


def test_account_page_and_chat_action_open_or_create_the_thread(alex, ada, number):
    client = client_for(alex)
    page = client.get(f"/hcps/{ada.pk}/")
    assert page.status_code == 200 and 'data-testid="action-chat"' in page.content.decode()
    first = client.post(f"/hcps/{ada.pk}/chat/")
    thread = Thread.objects.get(user=alex, account=ada)
    assert first.status_code == 302 and first["Location"] == f"/chats/{thread.pk}/"
    again = client.post(f"/hcps/{ada.pk}/chat/", {"share": "7"})
    assert again["Location"] == f"/chats/{thread.pk}/?share=7"
    assert Thread.objects.filter(user=alex, account=ada).count() == 1


def test_chat_action_without_a_number_says_why(alex, ada):
    response = client_for(alex).post(f"/hcps/{ada.pk}/chat/")
    assert response.status_code == 400
    assert "no WhatsApp number" in response.content.decode()


def test_account_of_someone_elses_team_is_404(alex):
    other = AccountFactory(name="Dr. Other")
    assert client_for(alex).get(f"/hcps/{other.pk}/").status_code == 404
    assert client_for(alex).post(f"/hcps/{other.pk}/chat/").status_code == 404


def test_media_tab_lists_enabled_items_with_share(alex, ada):
    MediaItemFactory(title="Cholecap Efficacy Deck")
    MediaItemFactory(title="Field Training Module", web_link_enabled=False)
    html = client_for(alex).get("/media/").content.decode()
    assert "Cholecap Efficacy Deck" in html and "Field Training Module" not in html
    assert 'data-testid="media-share"' in html


def test_media_share_lists_accounts_and_refuses_disabled_items(alex, ada):
    enabled = MediaItemFactory(title="Deck")
    disabled = MediaItemFactory(title="Internal", web_link_enabled=False)
    client = client_for(alex)
    html = client.get(f"/media/{enabled.pk}/share/").content.decode()
    assert "Dr. Ada Lovelace" in html and f'name="share" value="{enabled.pk}"' in html
    assert client.get(f"/media/{disabled.pk}/share/").status_code == 404


def test_home_links_to_chats(alex):
    assert 'href="/chats/"' in client_for(alex).get("/").content.decode()


def _build(size, alex, number):
    for i in range(size):
        account = AccountFactory(team=[alex], consent=["opted_in", "opted_out", False][i % 3])
        thread = ThreadFactory(user=alex, account=account, phone_number=number,
                               last_activity_at=timezone.now() - timedelta(minutes=i))
        for j in range(3):
            MessageFactory(thread=thread, direction=["inbound", "outbound"][j % 2])
        ConversationFactory(account=account, phone_number=number, owner=alex, last_inbound_at=timezone.now())
    return thread


@pytest.mark.parametrize("size", [2, 12])
def test_chat_list_query_count_does_not_grow(size, alex, number, django_assert_num_queries):
    _build(size, alex, number)
    client = client_for(alex)
    # session, user with its profile (language, license), threads page, last messages
    with django_assert_num_queries(4):
        response = client.get("/chats/")
    assert response.content.decode().count('data-testid="thread-item"') == size


@pytest.mark.parametrize("size", [2, 12])
def test_thread_page_query_count_does_not_grow(size, alex, number, waba, django_assert_num_queries):
    thread = _build(size, alex, number)
    client = client_for(alex)
    # +2 when the opened HCP's consent is not captured: Consent Capture's methods and wording
    not_captured = not ConsentRecord.objects.filter(account=thread.account).exists()
    with django_assert_num_queries(10 + 2 * not_captured):
        assert client.get(f"/chats/{thread.pk}/").status_code == 200
