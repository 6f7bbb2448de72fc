"""The notifications toggle in the web chat: there, never prompting on load, and saying in words why it
could not turn on (headless Chromium has no push service, and the test server has no VAPID keys)."""
import json
import re

from playwright.sync_api import expect

from chats.notifications.push import vapid_key_pair

# Counts the browser's permission prompts (Notification.requestPermission), from the first script on.
COUNT_PROMPTS = """
window.__prompts = 0;
if (window.Notification && Notification.requestPermission) {
  var ask = Notification.requestPermission.bind(Notification);
  Notification.requestPermission = function (callback) { window.__prompts += 1; return ask(callback); };
}
"""


def open_chats(session, *, push_on: bool, init: str = COUNT_PROMPTS):
    """The chat list, with the prompt counter in place; `push_on` answers the key endpoint as a server with
    VAPID keys would (the test server has none)."""
    session.context.add_init_script(init)
    if push_on:
        body = json.dumps({"enabled": True, "public_key": vapid_key_pair()[0]})
        session.context.route("**/api/v1/push/key/", lambda route: route.fulfill(
            status=200, content_type="application/json", body=body))
    page = session.goto("/chats/")
    session.wait_live()
    return page


def test_no_button_on_a_server_without_keys(as_user):
    # given a server with no VAPID keys (it sends no push)
    alex = as_user("rep.alex")
    page = open_chats(alex, push_on=False)
    page.wait_for_timeout(300)  # the key was asked for and answered
    # then there is nothing for the rep to turn on, and nothing asked
    expect(page.get_by_test_id("push")).to_be_hidden()
    assert page.evaluate("window.__prompts") == 0


def test_no_prompt_on_load_and_a_refusal_is_explained(as_user):
    alex = as_user("rep.alex")
    page = open_chats(alex, push_on=True)
    button = page.get_by_test_id("push-button")
    expect(button).to_be_enabled()
    page.wait_for_timeout(300)  # the page settled: still no prompt
    assert page.evaluate("window.__prompts") == 0
    alex.shot("push-ready", docs="notifications-button")
    # when: Alex clicks, and the browser refuses (headless Chromium denies without asking)
    alex.context.clear_permissions()
    button.click()
    # then: the prompt came from the click, and the page says why nothing changed
    status = page.get_by_test_id("push-status")
    expect(status).to_have_text(re.compile(r"(blocked for Rapport|were not allowed)"))
    assert page.evaluate("window.__prompts") == 1
    expect(button).to_have_text("Turn on notifications on this device")
    alex.shot("push-denied", docs="notifications-blocked")


def test_a_push_service_that_cannot_subscribe_is_explained(as_user):
    alex = as_user("rep.alex")
    alex.context.grant_permissions(["notifications"], origin=alex.base)
    page = open_chats(alex, push_on=True)
    page.get_by_test_id("push-button").click()
    # headless Chromium has no push service: pushManager.subscribe fails, and the page says so
    status = page.get_by_test_id("push-status")
    expect(status).to_have_attribute("data-kind", "error", timeout=15_000)
    expect(status).to_have_text(re.compile(r"could not turn on notifications|not set up on this server"))
    expect(page.get_by_test_id("push-button")).to_have_text("Turn on notifications on this device")
    alex.shot("push-failed")


def test_a_browser_without_push_is_told_so(as_user):
    alex = as_user("rep.alex")
    page = open_chats(alex, push_on=True, init=COUNT_PROMPTS + "delete window.PushManager;")
    page.get_by_test_id("push-button").click()
    expect(page.get_by_test_id("push-status")).to_contain_text("This browser cannot show notifications")
    assert page.evaluate("window.__prompts") == 0


def test_the_service_worker_shows_a_pushed_notification(as_user):
    # given: notifications allowed and the service worker running
    alex = as_user("rep.alex")
    alex.context.grant_permissions(["notifications"], origin=alex.base)
    page = open_chats(alex, push_on=False)
    assert page.evaluate("navigator.serviceWorker.ready.then(function () { return true; })")
    cdp = alex.context.new_cdp_session(page)
    registrations = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda event: registrations.extend(event["registrations"]))
    cdp.send("ServiceWorker.enable")
    page.wait_for_timeout(300)
    [registration] = [r for r in registrations if r["scopeURL"] == alex.base + "/" and not r.get("isDeleted")][:1]
    # when: a push arrives with the payload the server sends (as the browser hands it over, decrypted)
    payload = {"title": "New message", "body": "Dr. Ada Lovelace wrote to you.", "tag": "thread-7",
               "url": "/chats/7/", "kind": "message"}
    cdp.send("ServiceWorker.deliverPushMessage", {"origin": alex.base, "registrationId": registration["registrationId"],
                                                  "data": json.dumps(payload)})
    # then: the worker shows it, with the thread to open on a tap
    shown = None
    for _ in range(50):
        shown = page.evaluate("""navigator.serviceWorker.ready.then(function (reg) {
            return reg.getNotifications().then(function (list) {
              return list.map(function (n) { return [n.title, n.body, n.tag, n.data.url]; });
            });
          })""")
        if shown:
            break
        page.wait_for_timeout(100)
    assert shown == [["New message", "Dr. Ada Lovelace wrote to you.", "thread-7", "/chats/7/"]]
