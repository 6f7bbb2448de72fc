"""The web chat as an installed app: the offline page when the network is gone, the draft kept per thread."""
from playwright.sync_api import expect

from tests.e2e.test_chat_flows import open_chat_from_search


def test_offline_page_and_drafts_that_survive_a_reload(as_user):
    # given: Alex in a thread with an open window (tests/e2e/scenarios.py), the service worker installed
    alex = as_user("rep.alex")
    page = open_chat_from_search(alex, "Amara Abbott")
    thread_url = page.url
    assert page.evaluate("navigator.serviceWorker.ready.then(function () { return true; })")
    composer = page.get_by_test_id("composer")
    # when: Alex types a draft and the page reloads
    composer.fill("Draft: the study results for the elderly cohort")
    page.reload()
    alex.wait_live()
    # then: the draft is back in the composer, and can be sent
    expect(page.get_by_test_id("composer")).to_have_value("Draft: the study results for the elderly cohort")
    expect(page.get_by_test_id("send")).to_be_enabled()
    # when: the network goes away and Alex opens the chat list
    alex.context.set_offline(True)
    page.goto(alex.base + "/chats/")
    # then: the offline page, not the browser's error
    expect(page.get_by_test_id("offline-page")).to_contain_text("You are offline")
    alex.shot("offline", docs="offline-page")
    # when: the network is back
    alex.context.set_offline(False)
    page.goto(thread_url)
    alex.wait_live()
    # then: the draft is still there; emptied, it is gone for good
    composer = page.get_by_test_id("composer")
    expect(composer).to_have_value("Draft: the study results for the elderly cohort")
    composer.fill("")
    page.reload()
    alex.wait_live()
    expect(page.get_by_test_id("composer")).to_have_value("")
    assert not alex.errors
