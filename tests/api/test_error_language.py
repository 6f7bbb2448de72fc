"""API errors speak the caller's language in `detail` (the user's own pick, else Accept-Language);
`code` is the same in every language, so programs branch on it."""
import pytest
from rest_framework.test import APIClient

from chats.models import UserProfile
from tests.api.conftest import api_client
from tests.factories import AccountFactory, ThreadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def unconsented_thread(alex, shared_number):
    hcp = AccountFactory(name="Dr. Marie Curie", team=[alex], consent=False)
    return ThreadFactory(user=alex, account=hcp, phone_number=shared_number)


def send_text(client, thread, **headers):
    return client.post(f"/api/v1/threads/{thread.pk}/messages/",
                       {"kind": "text", "text": "Bonjour", "client_id": "5f0a7c36-8a0e-4a4e-9a43-3c0c2f4b1a01"},
                       format="json", **headers)


def test_a_refusal_in_english_by_default(alex, unconsented_thread):
    response = send_text(api_client(alex), unconsented_thread)
    assert response.status_code == 409
    assert response.json() == {"code": "consent_required",
                               "detail": "Capture the HCP's consent before sending anything."}


def test_a_refusal_in_french_for_accept_language_fr(alex, unconsented_thread):
    response = send_text(api_client(alex), unconsented_thread, HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9")
    assert response.status_code == 409
    assert response["Content-Language"] == "fr"
    assert response.json() == {"code": "consent_required",
                               "detail": "Recueillez le consentement du professionnel de santé avant tout envoi."}


def test_a_token_users_own_language_beats_the_header(alex, unconsented_thread):
    # given Alex picked French; the program calling with Alex's token asks for English
    UserProfile.objects.filter(user=alex).update(language="fr")
    response = send_text(api_client(alex), unconsented_thread, HTTP_ACCEPT_LANGUAGE="en")
    # then the detail is French, the code unchanged
    assert response.json()["code"] == "consent_required"
    assert response.json()["detail"].startswith("Recueillez le consentement")


def test_a_session_users_own_language_too(alex, shared_number):
    UserProfile.objects.filter(user=alex).update(language="fr")
    client = APIClient()
    client.force_login(alex)
    response = client.get("/api/v1/threads/999999/")
    assert response.json() == {"code": "not_found", "detail": "Introuvable."}


@pytest.mark.parametrize("language, detail", [
    ("en", "Authentication credentials were not provided."),
    ("fr", "Informations d'authentification non fournies."),  # DRF's own catalogue
])
def test_errors_before_sign_in_follow_the_header(language, detail):
    response = APIClient().get("/api/v1/threads/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 401
    assert response.json() == {"code": "not_authenticated", "detail": detail}


def test_answers_given_before_the_language_is_chosen_follow_the_header_too(client):
    # a NUL in the address is refused first of all, before LocaleMiddleware; each answer still in its own language
    for language, words in (("fr", "caractère NUL"), ("en", "NUL character"), ("fr", "caractère NUL")):
        response = client.get("/api/v1/threads/?x=\x00", HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 400
        assert response.json()["code"] == "invalid"
        assert words in response.json()["detail"]
    # a body over the limit, refused on its Content-Length
    response = client.post("/api/v1/threads/", data="{}", content_type="application/json",
                           HTTP_ACCEPT_LANGUAGE="fr", CONTENT_LENGTH=str(10 ** 9))
    assert (response.status_code, response.json()["code"]) == (413, "too_large")
    assert response.json()["detail"].startswith("Le corps de la requête")


@pytest.mark.parametrize("language, detail", [("en", "Not Found."), ("fr", "Introuvable.")])
def test_an_unknown_api_path_answers_in_the_callers_language(alex, language, detail):
    # the URL resolver's 404, which never reaches DRF: ApiJsonMiddleware words it (config/middleware.py)
    response = api_client(alex).get("/api/v1/no-such-thing/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": detail}
