"""The web chat in English and in French: the chat list, a thread with its expiring banner, and one
clock for the banner, the bubbles and the chat list, in the browser's time zone (far from UTC here)."""
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.scenarios import LANGUAGE_THREADS
from tests.e2e.test_accessibility import axe_violations, describe
from tests.e2e.test_thread_paging_and_states import post_late_hcp_message

# Auckland is UTC+13 in December: a time written in UTC anywhere would show a different hour.
FAR_FROM_UTC = "Pacific/Auckland"
BROWSERS = {"fr": "fr-FR", "en": "en-US"}
TEXTS = {
    "fr": {"title": "Conversations", "compose": "Nouvelle conversation", "expiring": "Conversation bientôt expirée",
           "in_hours": "(dans 4\u00a0h)", "end": "Terminer la conversation", "you": "Vous"},
    "en": {"title": "Chats", "compose": "Compose Chat", "expiring": "Conversation expiring",
           "in_hours": "(in 4 h)", "end": "End Conversation", "you": "You"},
}
CLOCK = re.compile(r"\d{1,2}:\d{2}(\s?[AP]M)?")


def twelve_hour(text: str) -> bool:
    return bool(re.search(r"\d\s?[AP]M", text))


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_chat_list_and_a_thread_in_each_language_tell_one_time(as_user, language):
    name, texts = LANGUAGE_THREADS[language], TEXTS[language]
    alex = as_user("rep.alex", locale=BROWSERS[language], timezone_id=FAR_FROM_UTC)
    # given Alex's browser speaks `language`; the chat list is in it
    page = alex.goto("/chats/")
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.locator("#chats-title")).to_have_text(texts["title"])
    expect(page.get_by_test_id("compose")).to_have_text(texts["compose"])
    alex.wait_live()
    # when Alex opens the thread from the list
    item = page.locator("[data-testid=thread-item]", has_text=name)
    item.locator("a").click()
    page.wait_for_url(re.compile(r"/chats/\d+/$"))
    alex.wait_live()
    # then its expiring banner, its actions and its bubbles speak the language
    banner = page.locator('[data-banner="expiring"]')
    expect(banner).to_be_visible()
    expect(banner).to_contain_text(texts["expiring"])
    expect(banner).to_contain_text(texts["in_hours"])
    expect(page.get_by_test_id("pill-end")).to_have_text(texts["end"])
    bubble_times = page.locator(".msg .bubble__meta time")
    expect(bubble_times).to_have_count(2)
    alex.shot(f"expiring-{language}", docs=f"thread-expiring-{language}")
    # and, in either language, axe finds nothing serious on it (tests/e2e/test_accessibility.py)
    assert not describe(f"thread ({language})", axe_violations(page))
    # and the banner's time and the bubbles' times are in one format: the locale's own
    expires = page.locator("[data-expires]").inner_text()
    assert CLOCK.search(expires), expires
    first_bubble = bubble_times.first.inner_text()
    assert twelve_hour(expires) == twelve_hour(first_bubble), (expires, first_bubble)
    if language == "fr":
        assert not twelve_hour(expires) and not twelve_hour(first_bubble), (expires, first_bubble)

    # when the HCP's message written 5 minutes ago reaches Rapport only now (Meta delivered it late)
    post_late_hcp_message(alex, name=name, text="Écrit il y a cinq minutes", written_seconds_ago=300)
    late = page.locator(".msg", has_text="Écrit il y a cinq minutes")
    expect(late).to_be_visible()
    # then the chat list tells the time it was written, as its bubble does, not when it arrived
    listed = page.locator(f'[data-testid=thread-item][data-thread="{page.url.rstrip("/").rsplit("/", 1)[1]}"] time')
    written = late.locator(".bubble__meta time").inner_text()
    expect(listed).to_have_text(written)
    alex.shot(f"late-message-{language}")
    # and after a reload, from the server's side, still the same time in both places
    page.reload()
    expect(page.locator(".msg", has_text="Écrit il y a cinq minutes").locator(".bubble__meta time")).to_have_text(written)
    expect(listed).to_have_text(written)


def test_a_rep_picks_french_in_the_menu_over_an_english_browser(as_user):
    casey = as_user("rep.casey", locale="en-US")
    page = casey.goto("/chats/")
    expect(page.get_by_test_id("compose")).to_contain_text("Chat")
    try:
        # when Casey picks Français in the menu
        page.get_by_test_id("language-choice").select_option("fr")
        page.get_by_test_id("language-save").click()
        # then the same page comes back in French, the scripts' texts too
        page.wait_for_url(re.compile(r"/chats/$"))
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        expect(page.locator("#chats-title")).to_have_text("Conversations")
        expect(page.locator("#live-status")).to_have_text("Mises à jour en direct actives")
        page.get_by_test_id("account-search").fill("Grace")
        expect(page.locator("#search-status")).to_have_text("1 compte trouvé")
        casey.shot("picked-french")
    finally:
        # back to the browser's language, for the other tests on this server (from the page at hand, or
        # one that need not wait for its scripts and the service worker)
        if not page.get_by_test_id("language-choice").count():
            page.goto(casey.base + "/chats/", wait_until="domcontentloaded")
        page.get_by_test_id("language-choice").select_option("")
        page.get_by_test_id("language-save").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
