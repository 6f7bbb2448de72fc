"""The web chat speaks English or French: the browser's Accept-Language, unless the rep picked a
language in the menu (UserProfile.language), which wins. English stays the default."""
import json

import pytest
from django.test import Client
from django.utils import timezone

from chats.models import UserProfile
from tests.factories import AccountFactory, PhoneNumberFactory, ThreadFactory, UserFactory

pytestmark = pytest.mark.django_db


def client_for(user, **defaults) -> Client:
    client = Client(**defaults)
    client.force_login(user)
    return client


def speak(user, language: str) -> None:
    UserProfile.objects.filter(user=user).update(language=language)


@pytest.fixture
def number(waba, alex):
    return PhoneNumberFactory(waba=waba, reps=[alex])


@pytest.fixture
def thread(alex, number):
    ada = AccountFactory(name="Dr. Ada Lovelace", team=[alex])
    return ThreadFactory(user=alex, account=ada, phone_number=number, last_activity_at=timezone.now())


def test_english_without_a_preference(alex, thread):
    page = client_for(alex).get("/chats/")
    html = page.content.decode()
    assert page["Content-Language"] == "en"
    assert '<html lang="en">' in html
    assert "Compose Chat" in html and "Sign out" in html


def test_accept_language_fr_gives_french_pages(alex, thread):
    # given a rep who picked no language, whose browser asks for French
    client = client_for(alex, HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9,en;q=0.5")
    # when they open the chat list and a thread
    listing = client.get("/chats/").content.decode()
    opened = client.get(f"/chats/{thread.pk}/").content.decode()
    # then both are in French, the script catalogue too
    assert '<html lang="fr">' in listing
    assert "Nouvelle conversation" in listing and "Déconnexion" in listing and "Compose Chat" not in listing
    assert "Terminer la conversation" in opened
    assert "Conversation bientôt expirée" in opened  # the banners, hidden until the state asks
    assert "/jsi18n/?v=fr" in listing


def test_a_users_own_language_beats_the_browsers(alex, thread):
    # given Alex picked French while the browser asks for English
    speak(alex, "fr")
    page = client_for(alex, HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9").get("/chats/")
    # then French it is
    assert page["Content-Language"] == "fr"
    assert "Nouvelle conversation" in page.content.decode()
    # and the other way round: English picked, French browser
    speak(alex, "en")
    page = client_for(alex, HTTP_ACCEPT_LANGUAGE="fr").get("/chats/")
    assert page["Content-Language"] == "en"
    assert "Compose Chat" in page.content.decode()


def test_the_menu_saves_the_language_with_csrf(alex, thread):
    client = client_for(alex, enforce_csrf_checks=True)
    home = client.get("/chats/").content.decode()
    assert 'data-testid="language-choice"' in home
    # without the CSRF token the POST is refused
    assert client.post("/language/", {"language": "fr", "next": "/chats/"}).status_code == 403
    token = client.cookies["csrftoken"].value
    # with it, saved, and back to the page it was picked on
    response = client.post("/language/", {"language": "fr", "next": "/chats/", "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response["Location"] == "/chats/"
    assert UserProfile.objects.get(user=alex).language == "fr"
    assert "Nouvelle conversation" in client.get("/chats/").content.decode()
    # blank follows the browser again
    client.post("/language/", {"language": "", "next": "/chats/", "csrfmiddlewaretoken": token})
    assert UserProfile.objects.get(user=alex).language == ""


def test_the_language_post_refuses_an_unknown_language_and_a_foreign_next(alex):
    client = client_for(alex)
    assert client.post("/language/", {"language": "de"}).status_code == 400
    assert UserProfile.objects.get(user=alex).language == ""
    response = client.post("/language/", {"language": "fr", "next": "https://evil.example/"})
    assert response["Location"] == "/"


@pytest.mark.parametrize("language, one, many", [
    ("en", "1 account<", "2 accounts<"), ("fr", "1 compte<", "2 comptes<"),
])
def test_account_counts_are_plural_right(alex, language, one, many):
    speak(alex, language)
    client = client_for(alex)
    AccountFactory(name="Dr. Ada Lovelace", team=[alex])
    assert one in client.get("/hcps/").content.decode()
    AccountFactory(name="Dr. Alan Turing", team=[alex])
    assert many in client.get("/hcps/").content.decode()


@pytest.mark.parametrize("language, one, two", [
    ("en", "Shared with 1 other rep<", "Shared with 2 other reps<"),
    ("fr", "Partagé avec 1 autre délégué<", "Partagé avec 2 autres délégués<"),
])
def test_shared_number_badge_is_plural_right(alex, blair, waba, language, one, two):
    casey = UserFactory(username="rep.casey")
    speak(alex, language)
    PhoneNumberFactory(waba=waba, reps=[alex, blair])
    assert one in client_for(alex).get("/").content.decode()
    PhoneNumberFactory(waba=waba, reps=[alex, blair, casey])
    assert two in client_for(alex).get("/").content.decode()


def test_the_script_catalogue_has_the_plurals(client):
    # "1 accounts found" no more: the search status is an ngettext
    french = client.get("/jsi18n/?v=fr", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert json.dumps("%(count)s comptes trouvés")[1:-1] in french or "%(count)s comptes trouv" in french
    assert "(n > 1)" in french  # French: 0 and 1 are singular
    english = client.get("/jsi18n/?v=en").content.decode()
    assert "comptes" not in english


def test_the_offline_page_speaks_the_language_of_the_worker(client):
    assert "Vous êtes hors ligne" in client.get("/offline/?lang=fr").content.decode()
    assert "You are offline" in client.get("/offline/?lang=xx").content.decode()
    assert "You are offline" in client.get("/offline/").content.decode()


def test_public_link_pages_follow_the_browser(client):
    page = client.get("/l/no-such-token", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Lien introuvable" in page
