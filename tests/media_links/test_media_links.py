from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from chats.models import AuditEvent
from media_links.services import weblink_create, weblink_url
from tests.factories import MediaItemFactory, ThreadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def link():
    item = MediaItemFactory(url="https://example.com/cholecap-deck", link_lifetime_days=7)
    return weblink_create(media_item=item, thread=ThreadFactory())


def test_link_url_is_under_public_base_url(link, settings):
    settings.PUBLIC_BASE_URL = "https://rapport.example.org/"
    assert weblink_url(link=link) == f"https://rapport.example.org/l/{link.token}"
    assert len(link.token) >= 32


def test_opening_counts_and_redirects(client, link):
    first = client.get(f"/l/{link.token}")
    second = client.get(f"/l/{link.token}")
    assert first.status_code == second.status_code == 302
    assert first["Location"] == "https://example.com/cholecap-deck"
    link.refresh_from_db()
    assert link.open_count == 2
    assert link.first_opened_at <= link.last_opened_at
    assert AuditEvent.objects.filter(kind="link.opened", thread=link.thread).count() == 2


def test_expired_link_answers_410_with_a_page(client, link):
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        response = client.get(f"/l/{link.token}")
    assert response.status_code == 410
    assert b"This link has expired" in response.content
    link.refresh_from_db()
    assert link.open_count == 0


def test_unknown_token_is_404_page(client):
    response = client.get("/l/not-a-token")
    assert response.status_code == 404
    assert b"Link not found" in response.content
