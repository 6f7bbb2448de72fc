"""Every flow of the web chat in a real browser, at 390×844 (iPhone) and 1180×820 (iPad).

The server is the real ASGI app (Uvicorn) with the sandbox backend: sends get sent → delivered →
read statuses through the real webhook path, and the staff HCP simulator answers as an HCP.
Screenshots of every step go to test-artifacts/e2e/.
"""
import re

from playwright.sync_api import expect

SHARED = "+1 555 010 0001 (Rapport Pharma)"
CASEY = "+1 555 010 0002 (Rapport Pharma)"


def open_chat_from_search(session, name: str):
    page = session.goto("/chats/")
    session.wait_live()
    search = page.get_by_test_id("account-search")
    search.click()
    search.fill(name)
    option = page.locator("#search-results [role=option]", has_text=name)
    expect(page.locator("#search-results [role=option]").first).to_contain_text(name)
    option.first.click()
    page.wait_for_url(re.compile(r"/chats/\d+/$"))
    session.wait_live()
    return page


def simulate(admin, *, account: str, number: str, text: str):
    """The HCP answers, through the staff simulator page."""
    page = admin.goto("/simulator/")
    page.select_option("#id_account", label=account)
    page.select_option("#id_phone_number", label=number)
    page.fill("#id_text", text)
    page.get_by_test_id("sim-send").click()
    expect(page.get_by_test_id("sim-result")).to_contain_text("Delivered to")


def last_outbound_ticks(page):
    return page.locator(".msg--out .ticks").last


def test_unlicensed_rep_sees_the_license_page(as_user):
    drew = as_user("rep.drew")
    page = drew.page
    expect(page.get_by_test_id("tab-chats")).to_have_count(0)
    response = page.goto(drew.base + "/chats/")
    assert response.status == 403
    expect(page.get_by_test_id("license-required")).to_contain_text("Engage license")
    expect(page.get_by_test_id("license-required")).to_contain_text("ask your Rapport administrator")
    expect(page.get_by_test_id("tab-chats")).to_have_count(0)
    expect(page.get_by_test_id("tab-accounts")).to_be_visible()
    drew.shot("license", docs="license")


def test_consent_capture_sends_the_confirmation(as_user):
    casey = as_user("rep.casey")
    # Casey has no chat yet: the list offers Start New Chat
    expect(casey.goto("/chats/").get_by_test_id("compose")).to_have_text("Start New Chat")
    page = open_chat_from_search(casey, "Alan Turing")
    expect(page.get_by_test_id("thread-title")).to_have_text("Dr. Alan Turing")
    banner = page.locator('[data-banner="consent_required"]')
    expect(banner).to_be_visible()
    expect(page.get_by_test_id("quick-area")).to_be_hidden()
    casey.shot("consent-required", docs="consent-banner")
    page.get_by_test_id("consent-capture").click()
    # Nothing is sent until the rep says how consent was obtained, with the wording in view
    dialog = page.get_by_test_id("consent-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_test_id("consent-wording")).to_contain_text("I agree to receive WhatsApp messages")
    expect(dialog.get_by_test_id("consent-confirm")).to_be_disabled()
    expect(banner).to_be_visible()
    dialog.get_by_test_id("consent-method-verbal").check()
    casey.shot("consent-method", docs="consent-method")
    dialog.get_by_test_id("consent-confirm").click()
    expect(dialog).to_be_hidden()
    expect(banner).to_be_hidden()
    confirmation = page.locator(".msg--out").last
    expect(confirmation).to_contain_text("You have agreed to receive WhatsApp messages")
    expect(confirmation.locator(".ticks")).to_have_attribute("data-status", "read")
    expect(page.get_by_test_id("quick-area")).to_be_visible()
    casey.shot("consent-captured")


def test_a_double_tap_on_a_quick_template_sends_it_once(as_user):
    casey = as_user("rep.casey")
    page = open_chat_from_search(casey, "Maya Moreau")
    quick = page.get_by_test_id("quick-template").first
    expect(quick).to_be_enabled()
    # two taps 0.3 s apart: the second is the same intent, whatever the first's answer did meanwhile
    quick.click()
    page.wait_for_timeout(300)
    quick.click(force=True)
    expect(last_outbound_ticks(page)).to_have_attribute("data-status", "read")
    page.wait_for_timeout(500)
    expect(page.locator(".msg--out")).to_have_count(1)
    page.reload()  # the server's record, not only the screen
    expect(page.locator(".msg--out")).to_have_count(1)


def test_simulate_inbound_reaches_the_running_servers_open_sockets(as_user, server, seeded_db):
    import subprocess
    import sys

    from tests.e2e.conftest import ROOT, _server_env

    base, viewport = server
    casey = as_user("rep.casey")
    page = open_chat_from_search(casey, "Noah Nakamura")
    casey.wait_live()
    # when the command writes as the HCP to the running server (its own process, the server's database)
    env = _server_env(seeded_db.with_name(f"{viewport}.sqlite3"))
    run = subprocess.run([sys.executable, "manage.py", "simulate_inbound", "--from", "+447700900113",
                          "--to", "100000000000002", "--text", "Hello from the command line", "--server", base],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "rep.casey's thread" in run.stdout
    # then the open thread shows it live, without a reload
    expect(page.locator(".msg--in").last).to_contain_text("Hello from the command line")


def test_a_whole_conversation(as_user):
    casey, admin = as_user("rep.casey"), as_user("admin")
    page = open_chat_from_search(casey, "Grace Hopper")
    # quick template; ticks sent → delivered → read arrive live
    quick = page.get_by_test_id("quick-template")
    expect(quick).to_have_count(2)
    casey.shot("quick-templates")
    quick.first.click()
    expect(last_outbound_ticks(page)).to_have_attribute("data-status", "read")
    first_id = int(page.locator(".msg--out").last.get_attribute("data-id"))
    statuses = page.evaluate(
        "id => window.Rapport.log.filter(e => e.type === 'message.status' && e.id === id).map(e => e.status)", first_id)
    assert statuses == ["sent", "delivered", "read"], statuses
    expect(page.locator('[data-banner="awaiting"]')).to_be_visible()

    # "More Message Templates" opens filtered to Start Conversation; the filter can be cleared
    page.get_by_test_id("more-templates").click()
    dialog = page.get_by_test_id("templates-dialog")
    expect(dialog.get_by_test_id("template-category")).to_have_value("start_conversation")
    expect(dialog.get_by_test_id("choice")).to_have_count(3)
    casey.shot("templates-selector", docs="templates-selector")
    dialog.get_by_test_id("template-category").select_option("")
    expect(dialog.get_by_test_id("choice").filter(has_text="event invitation")).to_have_count(1)
    dialog.get_by_role("button", name="Cancel").click()

    # the HCP answers through the simulator: the message and the open window arrive live
    simulate(admin, account="Dr. Grace Hopper", number=CASEY, text="Yes please, send me the details.")
    expect(page.locator(".msg--in").last).to_contain_text("Yes please, send me the details.")
    composer = page.get_by_test_id("composer")
    expect(composer).to_be_visible()
    expect(page.get_by_test_id("quick-area")).to_be_hidden()

    # a restricted phrase is highlighted while typing and Send is refused until it is removed
    composer.fill("This therapy is guaranteed to help.")
    expect(page.locator("#composer-backdrop mark")).to_have_text("guaranteed")
    expect(page.get_by_test_id("send")).to_be_disabled()
    expect(page.get_by_test_id("composer-error")).to_contain_text("guaranteed")
    casey.shot("restricted-phrase", docs="composer-restricted-phrase")
    composer.fill("This therapy is likely to help.")
    expect(page.locator("#composer-backdrop mark")).to_have_count(0)
    expect(page.get_by_test_id("send")).to_be_enabled()
    page.get_by_test_id("send").click()
    expect(page.locator(".msg--out").last).to_contain_text("This therapy is likely to help.")
    expect(last_outbound_ticks(page)).to_have_attribute("data-status", "read")

    # reply via right-click on the HCP's message
    page.locator(".msg--in .bubble").last.click(button="right")
    menu = page.get_by_test_id("context-menu")
    expect(menu).to_be_visible()
    menu.get_by_role("menuitem", name="Reply").click()
    expect(page.locator("#reply-bar")).to_be_visible()
    composer.fill("Here they are.")
    page.get_by_test_id("send").click()
    reply = page.locator(".msg--out").last
    expect(reply.locator(".bubble__quote")).to_contain_text("Yes please, send me the details.")
    expect(reply).to_contain_text("Here they are.")
    # Copy from the same menu
    page.locator(".msg--in .bubble").last.click(button="right")
    menu.get_by_role("menuitem", name="Copy").click()
    page.wait_for_function("window.Rapport.copied === 'Yes please, send me the details.'")
    expect(page.get_by_test_id("action-note")).to_have_text("Copied")  # it says that it copied

    # a Text Only template from the Message Templates pill
    page.get_by_test_id("pill-templates").click()
    dialog.get_by_test_id("choice").filter(has_text="thanks for time").click()
    expect(dialog.locator(".choice__badge--text").first).to_have_text("Text Only")
    expect(dialog.locator("#template-preview")).to_contain_text("Thank you for your time today")
    dialog.get_by_test_id("template-send").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(".msg--out").last).to_contain_text("Thank you for your time today, Dr. Grace Hopper")
    casey.shot("thread", docs="thread")

    # media: Media tab → All Actions → Share → account → the thread with a preview → Send
    media = casey.goto("/media/")
    casey.shot("media-tab", docs="media-tab")
    media.get_by_test_id("media-actions").first.click()
    media.get_by_test_id("media-share").first.click()
    media.get_by_test_id("share-search").fill("Grace Hopper")
    media.get_by_test_id("share-search").press("Enter")
    media.get_by_test_id("share-account").filter(has_text="Dr. Grace Hopper").click()
    media.wait_for_url(re.compile(r"/chats/\d+/\?share=\d+$"))
    preview = media.get_by_test_id("media-preview")
    expect(preview).to_contain_text("a tracked link to")
    casey.shot("media-preview", docs="media-preview")
    media.get_by_test_id("media-send").click()
    expect(media.locator(".msg--out").last).to_contain_text("/l/")

    # End Conversation, after a confirmation
    media.get_by_test_id("pill-end").click()
    expect(media.get_by_test_id("end-dialog")).to_be_visible()
    casey.shot("end-confirm")
    media.get_by_test_id("end-confirm").click()
    expect(media.locator(".msg--out").last).to_contain_text("This conversation is now closed")
    expect(media.locator('[data-banner="ended"]')).to_be_visible()
    expect(media.get_by_test_id("quick-area")).to_be_visible()
    expect(media.get_by_test_id("composer")).to_be_hidden()


def test_shared_number_pending_then_locked(as_user):
    alex, blair, admin = as_user("rep.alex"), as_user("rep.blair"), as_user("admin")
    alex_page = open_chat_from_search(alex, "Ada Lovelace")
    alex_page.get_by_test_id("quick-template").first.click()
    expect(last_outbound_ticks(alex_page)).to_have_attribute("data-status", "read")

    blair_page = open_chat_from_search(blair, "Ada Lovelace")
    pending = blair_page.locator('[data-banner="pending"]')
    expect(pending).to_be_visible()
    expect(blair_page.locator('[data-banner="shared_history"]')).to_be_visible()
    expect(blair_page.locator(".msg")).to_have_count(0)  # Blair never sees Alex's messages
    blair.shot("pending-banner", docs="pending-banner")

    simulate(admin, account="Dr. Ada Lovelace", number=SHARED, text="Happy to meet on Tuesday.")
    # the answer goes to Alex, who sent the latest template, and opens Alex's window live
    expect(alex_page.locator(".msg--in").last).to_contain_text("Happy to meet on Tuesday.")
    expect(alex_page.get_by_test_id("composer")).to_be_visible()
    alex.shot("answered")
    # Blair is locked out (and never received the answer)
    blair_page.reload()
    expect(blair_page.locator('[data-banner="locked"]')).to_be_visible()
    expect(blair_page.get_by_test_id("quick-area")).to_be_hidden()
    expect(blair_page.get_by_test_id("composer")).to_be_hidden()
    expect(blair_page.locator(".msg--in")).to_have_count(0)
    blair.shot("locked", docs="locked-banner")


def test_account_page_chat_action_and_thread_list(as_user):
    casey = as_user("rep.casey")
    page = casey.goto("/hcps/?q=Marie")
    page.get_by_test_id("account-list").get_by_role("link", name=re.compile("Marie Curie")).click()
    casey.shot("account-page", docs="account-page")
    page.get_by_test_id("all-actions").click()
    page.get_by_test_id("action-chat").click()
    page.wait_for_url(re.compile(r"/chats/\d+/$"))
    expect(page.get_by_test_id("thread-title")).to_have_text("Dr. Marie Curie")
    page.get_by_test_id("view-account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dr. Marie Curie")
    chats = casey.goto("/chats/")
    expect(chats.get_by_test_id("compose")).to_have_text("Compose Chat")
    expect(chats.get_by_test_id("thread-item").filter(has_text="Dr. Marie Curie")).to_have_count(1)
    casey.shot("chat-list", docs="chat-list")
