"""API tokens are stored hashed (django-rest-knox), expire, can be revoked, and the tokens issued
before survive the move (chats/migrations/0016_api_tokens_hashed.py)."""
from datetime import timedelta

import pytest
import time_machine
from django.apps import apps
from django.db import connection
from django.test import Client
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.authtoken.models import Token

from chats.inbox.access import token_for_key
from tests.api.conftest import api_client
from tests.factories import UserFactory, api_token

pytestmark = pytest.mark.django_db


def me(key):
    return Client(HTTP_AUTHORIZATION=f"Token {key}").get("/api/v1/me/")


def test_a_token_is_stored_only_as_its_digest(alex):
    key = api_client().post("/api/v1/auth/token/", {"username": "rep.alex", "password": "rapport-demo"},
                            format="json").json()["token"]
    assert me(key).status_code == 200
    row = AuthToken.objects.get(user=alex)
    assert row.digest != key and key not in row.digest and len(row.token_key) < len(key)
    # nowhere in the token tables does the key appear
    with connection.cursor() as cursor:
        for table in ("knox_authtoken", "authtoken_token"):
            cursor.execute(f"SELECT * FROM {table}")
            assert all(key not in str(value) for row in cursor.fetchall() for value in row)


def test_a_token_expires(alex, settings):
    key = api_token(alex)
    expiry = AuthToken.objects.get(user=alex).expiry
    assert expiry - timezone.now() > timedelta(days=29)
    with time_machine.travel(expiry + timedelta(seconds=1)):
        response = me(key)
    assert response.status_code == 401 and response.json()["code"] == "authentication_failed"


def test_revoking_a_token_ends_it_alone(alex):
    phone, laptop = api_token(alex), api_token(alex)
    revoked = Client(HTTP_AUTHORIZATION=f"Token {phone}").post("/api/v1/auth/token/revoke/")
    assert revoked.status_code == 204
    assert me(phone).status_code == 401 and me(laptop).status_code == 200


def test_revoking_needs_the_token_itself(alex):
    client = Client()
    client.force_login(alex)
    response = client.post("/api/v1/auth/token/revoke/")
    assert response.status_code == 400 and response.json()["code"] == "token_required"


def test_the_admin_never_shows_a_key_again(alex):
    key = api_token(alex)
    staff = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff)
    listing = client.get("/admin/knox/authtoken/")
    assert listing.status_code == 200 and key not in listing.content.decode()
    assert client.get("/admin/authtoken/tokenproxy/").status_code == 404


def test_tokens_issued_before_keep_working_hashed():
    # given a token DRF kept in plain text, as every token was before the move
    from importlib import import_module

    user = UserFactory(username="old.client")
    old = Token.objects.create(user=user)
    # when the migration runs
    import_module("chats.migrations.0016_api_tokens_hashed").hash_existing_tokens(apps, None)
    # then the same key authenticates, now from its digest, and no plain key is left
    assert token_for_key(key=old.key).user == user and me(old.key).status_code == 200
    assert not Token.objects.exists()
    assert AuthToken.objects.get(user=user).expiry is not None
