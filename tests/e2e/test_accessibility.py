"""axe-core (tests/e2e/vendor/, see its README) on every main screen at 390×844 and 1180×820.

Fails on any WCAG 2.0/2.1 A or AA violation of impact serious or critical, colour contrast
included. Read-only: it types into the composer but sends nothing, so the flow tests sharing the
server are unaffected. The states come from tests/e2e/scenarios.py.
"""
from pathlib import Path

from playwright.sync_api import expect

from tests.e2e.conftest import VIEWPORTS
from tests.e2e.test_chat_flows import open_chat_from_search

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}


def axe_violations(page) -> list[dict]:
    if not page.evaluate("() => !!window.axe"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", TAGS)
    return [v for v in result["violations"] if v["impact"] in BLOCKING]


def describe(screen: str, violations: list[dict]) -> list[str]:
    lines = []
    for v in violations:
        targets = ["/".join(node["target"]) + ": " + node.get("failureSummary", "").replace("\n", " ")
                   for node in v["nodes"][:4]]
        lines.append(f"{screen}: {v['id']} ({v['impact']}) {v['help']} → {targets}")
    return lines


def test_main_screens_have_no_serious_accessibility_violations(as_user, browser, server):
    base, viewport = server
    found: list[str] = []

    def audit(screen: str, page) -> None:
        found.extend(describe(screen, axe_violations(page)))

    # signed out: the login page
    context = browser.new_context(viewport=VIEWPORTS[viewport])
    login = context.new_page()
    login.goto(base + "/accounts/login/")
    audit("login", login)
    # the check can fail: a planted grey-on-white line is reported as a contrast violation
    login.evaluate("""() => { const p = document.createElement('p'); p.id = 'planted';
        p.style.cssText = 'color:#bbb;background:#fff'; p.textContent = 'Hard to read'; document.body.append(p); }""")
    assert "color-contrast" in {v["id"] for v in axe_violations(login)}
    context.close()

    alex = as_user("rep.alex")
    page = alex.page
    audit("home", page)
    alex.goto("/chats/")
    alex.wait_live()
    audit("chat list", page)

    # a thread with consent banner and note; with expired banner and the templates selector open
    page = open_chat_from_search(alex, "Chloé Castillo")
    expect(page.locator('[data-banner="consent_required"]')).to_be_visible()
    audit("thread, consent required", page)
    page = open_chat_from_search(alex, "Bruno Bernard")
    expect(page.locator('[data-banner="expired"]')).to_be_visible()
    audit("thread, expired", page)
    page.get_by_test_id("more-templates").click()
    expect(page.get_by_test_id("choice").first).to_be_visible()
    audit("templates selector", page)
    page.keyboard.press("Escape")

    # the composer with a restricted phrase highlighted (nothing is sent)
    page = open_chat_from_search(alex, "Amara Abbott")
    page.get_by_test_id("composer").fill("This therapy is guaranteed to help.")
    expect(page.locator("#composer-backdrop mark")).to_have_text("guaranteed")
    audit("composer with a restricted phrase", page)
    page.get_by_test_id("composer").fill("")

    alex.goto("/hcps/")
    audit("accounts", page)
    page.get_by_test_id("account-list").get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    audit("account page", page)
    page.get_by_test_id("all-actions").click()
    audit("account page, All Actions open", page)
    alex.goto("/media/")
    audit("media", page)

    # a thread's message actions menu, opened from the keyboard
    page = open_chat_from_search(alex, "Greta Garnier")
    page.locator(".msg--in .bubble__actions").last.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("context-menu")).to_be_visible()
    audit("message actions menu", page)
    page.keyboard.press("Escape")

    # locked by another rep: banners (locked, shared history) and the footer note
    blair = as_user("rep.blair")
    page = open_chat_from_search(blair, "Amara Abbott")
    expect(page.get_by_test_id("foot-note")).to_be_visible()
    audit("thread, locked with shared history", page)
    if page.get_by_test_id("banners-toggle").is_visible():  # a phone: the banners' details opened
        page.get_by_test_id("banners-toggle").click()
        audit("thread, banners' details open", page)

    drew = as_user("rep.drew")
    drew.goto("/chats/")
    audit("license page", drew.page)

    admin = as_user("admin")
    admin.goto("/simulator/")
    audit("simulator", admin.page)
    # the admin dashboard, once its charts are drawn
    page = admin.goto("/admin/dashboard/")
    expect(page.locator("canvas").first).to_be_visible()
    audit("admin dashboard", page)

    assert not found, "\n".join(found)
