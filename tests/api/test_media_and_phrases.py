"""GET /media/ and POST /restricted-phrases/check/."""
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.api.conftest import add_phrase, api_client
from tests.factories import MediaItemFactory, TemplateFactory

pytestmark = pytest.mark.django_db


def test_media_lists_only_web_link_enabled(alex, waba):
    share = TemplateFactory(waba=waba, name="media_share")
    deck = MediaItemFactory(title="Cholecap Efficacy Deck", kind="clm_presentation", share_template=share)
    MediaItemFactory(title="Cholecap HCP Portal")
    MediaItemFactory(title="Field Training Module", web_link_enabled=False)
    response = api_client(alex).get("/api/v1/media/")
    assert response.status_code == 200
    body = response.json()
    assert [m["title"] for m in body] == ["Cholecap Efficacy Deck", "Cholecap HCP Portal"]
    assert body[0] == {"id": deck.id, "kind": "clm_presentation", "title": "Cholecap Efficacy Deck", "description": "",
                       "url": deck.url, "thumbnail_url": "", "share_template": "media_share"}
    assert body[1]["share_template"] is None


def test_check_returns_matches_with_offsets_into_the_text(alex):
    add_phrase("off-label")
    add_phrase("guaranteed", "exact")
    add_phrase("cure", "exact")
    add_phrase(r"100\s*%\s*(safe|effective)", "regex")
    text = "Cholecap  is 100 %  SAFE, guaranteed — no OFF-LABEL use, can't secure a cure."
    response = api_client(alex).post("/api/v1/restricted-phrases/check/", {"text": text}, format="json")
    assert response.status_code == 200
    matches = response.json()["matches"]
    assert [(m["phrase"], text[m["start"]:m["end"]], m["match_type"]) for m in matches] == [
        (r"100\s*%\s*(safe|effective)", "100 %  SAFE", "regex"),
        ("guaranteed", "guaranteed", "exact"),
        ("off-label", "OFF-LABEL", "contains"),
        ("cure", "cure", "exact"),  # not the "cure" inside "secure"
    ]
    assert all(m["rule"] == "Off-label claims" for m in matches)


def test_check_clean_text_and_inactive_rule(alex):
    now = timezone.now()
    add_phrase("miracle", rule="Expired rule", active_from=now - timedelta(days=10), active_to=now - timedelta(days=1))
    add_phrase("future", rule="Future rule", active_from=now + timedelta(days=1))
    response = api_client(alex).post("/api/v1/restricted-phrases/check/",
                                     {"text": "A miracle in the future"}, format="json")
    assert response.json() == {"matches": []}


def test_check_validates_input(alex):
    client = api_client(alex)
    missing = client.post("/api/v1/restricted-phrases/check/", {}, format="json")
    assert missing.status_code == 400
    assert missing.json()["code"] == "invalid"
    assert "text" in missing.json()["errors"]
    too_long = client.post("/api/v1/restricted-phrases/check/", {"text": "a" * 4097}, format="json")
    assert too_long.status_code == 400
    assert client.post("/api/v1/restricted-phrases/check/", {"text": ""}, format="json").json() == {"matches": []}
    wrong_type = client.post("/api/v1/restricted-phrases/check/", {"text": {"nested": 1}}, format="json")
    assert wrong_type.status_code == 400
