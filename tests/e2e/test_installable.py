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


IPHONE_SAFARI = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                 "Version/18.1 Mobile/15E148 Safari/604.1")


def test_install_app_from_the_top_bar_only_where_the_device_can(as_user):
    # given: Alex in a Chromium that has not offered to install Rapport (headless never does by itself)
    alex = as_user("rep.alex")
    page = alex.goto("/chats/")
    alex.wait_live()
    install = page.locator("[data-install-app]")
    # then: no Install button, and no prompt on load
    expect(install).to_be_hidden()
    # when: the browser offers to install (its beforeinstallprompt event, as Chromium sends it)
    page.evaluate("""() => { const offer = new Event('beforeinstallprompt', {cancelable: true});
        offer.prompt = () => { window.installPrompted = (window.installPrompted || 0) + 1; };
        offer.userChoice = Promise.resolve({outcome: 'accepted'}); window.offer = offer; window.dispatchEvent(offer); }""")
    # then: the browser's own mini-infobar is held back and the button appears
    assert page.evaluate("window.offer.defaultPrevented")
    expect(install).to_be_visible()
    alex.shot("install-button", docs="install-button")
    # when: Alex taps it, the browser's prompt opens, once, and the button goes
    install.click()
    assert page.evaluate("window.installPrompted") == 1
    expect(install).to_be_hidden()


def test_install_app_on_an_iphone_explains_add_to_home_screen(as_user):
    # given: Alex in Safari on an iPhone or iPad (no install prompt there), Rapport not yet installed
    alex = as_user("rep.alex")
    alex.context.add_init_script(
        "Object.defineProperty(navigator, 'userAgent', {get: () => %r});" % IPHONE_SAFARI)
    page = alex.goto("/chats/")
    alex.wait_live()
    # when: Alex taps Install app
    page.locator("[data-install-app]").click()
    # then: the steps to add it to the Home Screen
    help_dialog = page.get_by_role("dialog", name="Install Rapport on this device")
    expect(help_dialog).to_contain_text("Add to Home Screen")
    alex.shot("install-help", docs="install-help")
    help_dialog.get_by_role("button", name="OK").click()
    expect(help_dialog).to_be_hidden()
    # and: once installed (opened from the Home Screen, standalone) there is no button
    alex.context.add_init_script("Object.defineProperty(navigator, 'standalone', {get: () => true});")
    page.reload()
    alex.wait_live()
    expect(page.locator("[data-install-app]")).to_be_hidden()
