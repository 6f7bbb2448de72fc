"""The thread on a phone and from the keyboard, at 390×844 (iPhone) and 1180×820 (iPad).

- After End Conversation the closing message is in view, on a thread long enough to scroll.
- With the most banners a thread can show at once (and the quick templates or the composer), the
  messages keep at least half of an iPhone's screen: the banners fold into one line of their titles
  and the quick templates into their names, each opening on demand.
- Every message action (Reply, Copy, React) and the composer's controls work from the keyboard alone.
The states come from tests/e2e/scenarios.py.
"""
import pytest
from playwright.sync_api import expect

from tests.e2e.test_chat_flows import open_chat_from_search

IN_VIEW = """([node, list]) => { const a = node.getBoundingClientRect(), b = list.getBoundingClientRect();
    return a.height > 0 && a.top >= b.top - 1 && a.bottom <= b.bottom + 1; }"""


def in_view(page, locator) -> bool:
    return page.evaluate(IN_VIEW, [locator.element_handle(), page.get_by_test_id("messages").element_handle()])


@pytest.mark.parametrize("hcp,closing_text", [("Quinn Quiroga", "This conversation is now closed"),
                                               ("Daniel Dubois", None)], ids=["closing-template", "none"])
def test_the_closing_message_is_in_view_after_end_conversation(as_user, hcp, closing_text):
    # given: Alex in an open conversation with 40 messages, scrolled to the newest
    alex = as_user("rep.alex")
    page = open_chat_from_search(alex, hcp)
    expect(page.locator(".msg")).to_have_count(40)
    expect(page.get_by_test_id("pill-end")).to_be_visible()
    # when: Alex ends it
    page.get_by_test_id("pill-end").click()
    page.get_by_test_id("end-confirm").click()
    expect(page.locator('[data-banner="ended"]')).to_be_attached()
    expect(page.get_by_test_id("quick-area")).to_be_visible()
    # then: the thread says so where the messages are (after the closing template, when one went out)
    # and it is in view once the footer and banners have settled
    note = page.get_by_test_id("end-note")
    expect(note).to_contain_text("You ended the conversation")
    if closing_text:
        closing = page.locator(".msg--out", has_text=closing_text)
        expect(closing).to_have_count(1)
        expect(note).to_contain_text("the closing message went to")
    else:
        expect(note).to_contain_text("no closing message")
    page.wait_for_timeout(600)
    alex.shot(f"ended-{hcp.split()[0].lower()}")
    assert in_view(page, note), "the end of the conversation is scrolled out of view"
    if closing_text:
        assert in_view(page, closing), "the closing message is scrolled out of view"


# (rep, HCP, what the thread shows): the fullest states a rep meets.
CROWDED = [
    ("rep.blair", "Kavya Kowalski", ["pending", "shared_history"], "quick-area"),
    ("rep.blair", "Amara Abbott", ["locked", "shared_history"], "foot-note"),
    ("rep.alex", "Elena Eriksen", ["expiring"], "composer"),
    ("rep.alex", "Chloé Castillo", ["consent_required"], "foot-note"),
    ("rep.alex", "Bruno Bernard", ["expired"], "quick-area"),
]


@pytest.mark.parametrize("user,hcp,banners,foot", CROWDED, ids=[c[1].split()[0].lower() for c in CROWDED])
def test_messages_keep_half_the_screen_whatever_the_banners(as_user, user, hcp, banners, foot):
    session = as_user(user)
    page = open_chat_from_search(session, hcp)
    for name in banners:
        expect(page.locator(f'[data-banner="{name}"]')).to_be_attached()
        expect(page.locator(f'[data-banner="{name}"]')).not_to_have_attribute("hidden", "")
    expect(page.get_by_test_id(foot)).to_be_visible()
    session.shot(f"crowded-{hcp.split()[0].lower()}")
    # the phone's promise; an iPad in landscape shows the banners in full and keeps at least 40 %
    height = page.viewport_size["height"]
    share = 0.5 if session.viewport == "iphone" else 0.4
    box = page.get_by_test_id("messages").bounding_box()
    assert box["height"] >= height * share, f"the messages have {box['height']:.0f} of {height} px"
    # and every banner's words are one tap away
    summary = page.get_by_test_id("banners-toggle")
    if summary.is_visible():
        summary.click()
        session.shot(f"crowded-{hcp.split()[0].lower()}-open")
    for name in banners:
        expect(page.locator(f'[data-banner="{name}"]')).to_be_visible()


def tab_until(page, predicate: str, limit: int = 60) -> None:
    """Press Tab until `predicate` (a JavaScript expression of `el`, the focused element) holds."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"(() => {{ const el = document.activeElement; return !!({predicate}); }})()"):
            return
    raise AssertionError(f"Tab never reached {predicate}")


def focused(page, expression: str):
    return page.evaluate(f"(() => {{ const el = document.activeElement; return {expression}; }})()")


def test_message_actions_and_composer_by_keyboard_alone(as_user):
    alex = as_user("rep.alex")
    page = open_chat_from_search(alex, "Greta Garnier")
    answer = page.locator(".msg--in", has_text="Yes, please.")
    expect(answer).to_be_visible()
    expect(page.get_by_test_id("composer")).to_be_visible()

    # Tab reaches the HCP's message; Enter opens its actions, Reply sets the reply target
    tab_until(page, "el.classList.contains('bubble') && el.closest('.msg--in')")
    page.keyboard.press("Enter")
    menu = page.get_by_test_id("context-menu")
    expect(menu).to_be_visible()
    assert focused(page, "el.dataset.action") == "reply"
    alex.shot("keyboard-menu")
    page.keyboard.press("Enter")
    expect(menu).to_be_hidden()
    expect(page.locator("#reply-bar")).to_be_visible()
    expect(page.locator("#reply-quote")).to_have_text("Yes, please.")
    assert focused(page, "el.id") == "composer-text"
    # Escape in the composer's reply bar is not needed: its × is a button; cancel it from the keyboard
    page.keyboard.press("Shift+Tab")
    assert focused(page, "el.id") == "reply-cancel"
    page.keyboard.press("Space")
    expect(page.locator("#reply-bar")).to_be_hidden()

    # the bubble's own "Message actions" button: Space opens the menu, arrows move, Copy says copied
    tab_until(page, "el.classList.contains('bubble__actions') && el.closest('.msg--in')")
    assert focused(page, "el.getAttribute('aria-label')") == "Message actions"
    page.keyboard.press("Space")
    expect(menu).to_be_visible()
    assert focused(page, "el.dataset.action") == "reply"
    page.keyboard.press("ArrowDown")
    assert focused(page, "el.dataset.action") == "copy"
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("action-note")).to_have_text("Copied")
    assert page.evaluate("window.Rapport.copied") == "Yes, please."
    assert focused(page, "el.classList.contains('bubble__actions')")  # focus goes back where it was
    # Escape closes the menu and gives the focus back
    page.keyboard.press("Enter")
    expect(menu).to_be_visible()
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    assert focused(page, "el.classList.contains('bubble__actions')")

    # the composer's controls in order: the pills, the message field, Send
    tab_until(page, "el.id === 'pill-templates'")
    order = [focused(page, "el.id")]
    for _ in range(3):
        page.keyboard.press("Tab")
        order.append(focused(page, "el.id"))
    assert order == ["pill-templates", "pill-end", "composer-text", "send"] or \
        order == ["pill-templates", "pill-media", "pill-end", "composer-text"], order
    # the templates selector from the keyboard: open, pick, Send enabled, Escape closes (nothing sent)
    tab_until(page, "el.id === 'pill-templates'")
    page.keyboard.press("Enter")
    dialog = page.get_by_test_id("templates-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_test_id("choice").first).to_be_visible()
    tab_until(page, "el.dataset.testid === 'choice'", limit=10)
    page.keyboard.press("Space")
    expect(dialog.get_by_test_id("template-send")).to_be_enabled()
    tab_until(page, "el.id === 'template-send'", limit=30)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert focused(page, "el.id") == "pill-templates"
