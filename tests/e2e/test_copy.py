"""Copy works where the Clipboard API is absent (a plain-http deployment) and says that it copied."""
from playwright.sync_api import expect

from tests.e2e.test_chat_flows import open_chat_from_search


def test_copy_without_the_clipboard_api_falls_back_and_says_so(as_user):
    # given: a browser without navigator.clipboard, as on a site served over plain http
    alex = as_user("rep.alex")
    alex.context.add_init_script("Object.defineProperty(navigator, 'clipboard', {value: undefined});")
    page = open_chat_from_search(alex, "Amara Abbott")
    assert page.evaluate("navigator.clipboard === undefined")
    bubble = page.locator(".msg .bubble").last
    expect(bubble).to_be_visible()
    # when: Alex copies a message from its menu (the keyboard way: focus the bubble, Enter)
    bubble.focus()
    page.keyboard.press("Enter")
    page.get_by_role("menuitem", name="Copy").click()
    # then: the text was copied through the fallback, and the page says so
    expect(page.get_by_test_id("action-note")).to_have_text("Copied")
    assert page.evaluate("window.Rapport.copied") == bubble.locator(".bubble__body").inner_text()
