"""Signing in and out, and the home page that says who you are and whether you hold the license."""
import pytest
from django.urls import reverse

from tests.factories import PhoneNumberFactory, UserFactory

pytestmark = pytest.mark.django_db


PASSWORD = "rapport-demo"


@pytest.fixture
def alex():
    return UserFactory(username="rep.alex", first_name="Alex", last_name="Morgan", licensed=True)


@pytest.fixture
def drew():
    return UserFactory(username="rep.drew", licensed=False)


def test_login_page_renders_a_labelled_form(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<label for="id_username">Username</label>' in html
    assert '<label for="id_password">Password</label>' in html
    assert 'autocomplete="current-password"' in html
    assert "css/app.css" in html


def test_good_login_redirects_home_and_home_shows_user_and_license(client, alex):
    # when
    response = client.post(reverse("login"), {"username": "rep.alex", "password": PASSWORD})
    # then
    assert response.status_code == 302 and response.url == reverse("home")
    home = client.get(reverse("home"))
    html = home.content.decode()
    assert home.status_code == 200
    assert 'data-testid="username">rep.alex<' in html
    assert "Engage license: active" in html
    assert "No Engage license" not in html
    assert 'action="%s"' % reverse("logout") in html and 'method="post"' in html
    assert reverse("admin:index") not in html


def test_home_tells_an_unlicensed_user_there_is_no_chat_and_who_to_ask(client, drew):
    client.post(reverse("login"), {"username": "rep.drew", "password": PASSWORD})
    html = client.get(reverse("home")).content.decode()
    assert "rep.drew" in html
    assert "No Engage license" in html
    assert "Chats is not available to you" in html
    assert "ask your Rapport administrator" in html
    assert "Engage license: active" not in html


def test_user_without_profile_counts_as_unlicensed(client, django_user_model):
    django_user_model.objects.create_user("newbie", password=PASSWORD)
    client.post(reverse("login"), {"username": "newbie", "password": PASSWORD})
    assert "No Engage license" in client.get(reverse("home")).content.decode()


def test_home_shows_shared_numbers(client, alex):
    blair = UserFactory(username="rep.blair")
    PhoneNumberFactory(display_phone_number="+1 555 010 0001", reps=[alex, blair])
    PhoneNumberFactory(display_phone_number="+1 555 010 0009", reps=[blair])
    client.force_login(alex)
    html = client.get(reverse("home")).content.decode()
    assert "+1 555 010 0001" in html and "Shared with 1 other rep" in html
    assert "+1 555 010 0009" not in html


def test_staff_see_the_admin_link(client):
    admin = UserFactory(username="admin", is_staff=True, is_superuser=True, licensed=False)
    client.force_login(admin)
    html = client.get(reverse("home")).content.decode()
    assert 'href="%s"' % reverse("admin:index") in html
    assert "you can grant it in Django admin" in html


def test_bad_password_shows_the_error_and_does_not_log_in(client, alex):
    response = client.post(reverse("login"), {"username": "rep.alex", "password": "wrong"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "We couldn&#x27;t sign you in" in html or "We couldn't sign you in" in html
    assert 'role="alert"' in html
    assert 'aria-invalid="true"' in html
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("home")).status_code == 302


def test_logout_by_post_signs_out(client, alex):
    client.force_login(alex)
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response.url == reverse("login")
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("home")).status_code == 302


def test_logout_by_get_is_refused_and_keeps_the_session(client, alex):
    client.force_login(alex)
    assert client.get(reverse("logout")).status_code == 405
    assert client.get(reverse("home")).status_code == 200


def test_home_requires_login(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url == reverse("login") + "?next=/"


def test_healthz(client):
    assert client.get("/healthz").status_code == 200
