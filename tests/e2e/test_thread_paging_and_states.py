"""A long thread opens on its newest messages and loads earlier ones on demand; every state that
keeps the composer closed says why where the composer would be. States: tests/e2e/scenarios.py."""
import re

from playwright.sync_api import expect

from tests.e2e.test_chat_flows import open_chat_from_search


def message_numbers(page) -> list[int]:
    bodies = page.locator(".msg .bubble__body").all_inner_texts()
    return [int(re.search(r"(\d+)$", body).group(1)) for body in bodies]


def test_a_250_message_thread_opens_on_the_newest_and_loads_earlier(as_user):
    alex = as_user("rep.alex")
    page = open_chat_from_search(alex, "Amara Abbott")
    messages = page.get_by_test_id("messages")
    # then: the newest 50, in order, scrolled to the bottom; the composer is there (window open)
    expect(page.locator(".msg")).to_have_count(50)
    assert message_numbers(page) == list(range(201, 251))
    expect(page.locator(".msg").last).to_be_in_viewport()
    expect(page.get_by_test_id("composer")).to_be_visible()
    earlier = page.get_by_test_id("load-earlier")
    alex.shot("newest-page", docs="long-thread")

    # when: the keyboard user presses "Load earlier messages"
    messages.evaluate("list => { list.scrollTop = list.scrollHeight; }")
    earlier.focus()
    earlier.press("Enter")
    expect(page.locator(".msg")).to_have_count(100)
    assert message_numbers(page) == list(range(151, 251))
    expect(earlier).to_be_focused()

    # when: the user scrolls to the top, the next page arrives and what they saw stays in place
    anchor = page.locator(".msg", has_text="Long thread message 151")
    # (scrolled and measured in one go, before the scroll event's fetch can answer)
    top_before = anchor.evaluate("node => { node.parentNode.scrollTop = 0; return node.getBoundingClientRect().top; }")
    expect(page.locator(".msg")).to_have_count(150)
    top_after = anchor.evaluate("node => node.getBoundingClientRect().top")
    assert abs(top_after - top_before) <= 2, (top_before, top_after)  # the message read stays where it was
    assert messages.evaluate("list => list.scrollTop") > 1000  # the new page is above, out of sight

    # and so on to the very first message, after which the button goes away
    for expected in (200, 250):
        messages.evaluate("list => { list.scrollTop = 0; list.dispatchEvent(new Event('scroll')); }")
        expect(page.locator(".msg")).to_have_count(expected)
    assert message_numbers(page) == list(range(1, 251))
    expect(page.locator("#earlier")).to_be_hidden()
    alex.shot("all-loaded")


def post_late_hcp_message(session, *, name: str, text: str, written_seconds_ago: int) -> None:
    """The HCP's message as Meta's signed webhook, stamped `written_seconds_ago` on WhatsApp's clock."""
    import time

    from chats.devtools.demo import generated_account_rows
    from chats.whatsapp import bodies
    from tests.e2e.scenarios import SHARED

    number = next(row[2] for row in generated_account_rows(60) if row[0] == name)
    # the demo WABAs keep no secret of their own, so the environment's signs for any entry id
    body = bodies.text_message_body(waba_id="0", phone_number_id=SHARED, display_phone_number="",
                                    wa_from=number.lstrip("+"), text=text, wamid=f"wamid.late.{time.time_ns()}",
                                    timestamp=int(time.time()) - written_seconds_ago)
    session.post_webhook(body)


def test_an_hcp_message_delivered_late_takes_its_place_live(as_user):
    alex = as_user("rep.alex")
    page = open_chat_from_search(alex, "Greta Garnier")
    alex.wait_live()
    # given Alex answers now
    page.get_by_test_id("composer").fill("Here is the study.")
    page.get_by_test_id("send").click()
    expect(page.locator(".msg").last).to_contain_text("Here is the study.")
    # when Greta's message, written a minute ago on her phone, reaches Rapport only now
    post_late_hcp_message(alex, name="Dr. Greta Garnier", text="Written before your answer", written_seconds_ago=60)
    # then it appears live above Alex's answer, where it was written, as it will after a reload
    bodies = page.locator(".msg .bubble__body")
    expect(bodies).to_have_text(["Shall I send the study?", "Yes, please.", "Written before your answer",
                                 "Here is the study."])
    alex.shot("late-message")
    page.reload()
    expect(page.locator(".msg .bubble__body")).to_have_text(["Shall I send the study?", "Yes, please.",
                                                             "Written before your answer", "Here is the study."])


def open_thread(session, name: str):
    return open_chat_from_search(session, name)


def test_every_closed_composer_says_why(as_user):
    alex, blair = as_user("rep.alex"), as_user("rep.blair")
    # locked: another rep holds the window; the footer stays and explains
    page = open_thread(blair, "Amara Abbott")
    expect(page.locator('[data-banner="locked"]')).to_be_visible()
    note = page.get_by_test_id("foot-note")
    expect(note).to_have_text("Another rep is in a conversation with this HCP; you can write when it ends or expires.")
    expect(page.get_by_test_id("composer")).to_be_hidden()
    expect(page.locator(".msg")).to_have_count(0)
    blair.shot("locked-footer", docs="locked-footer")

    page = open_thread(alex, "Chloé Castillo")
    expect(page.locator('[data-banner="consent_required"]')).to_be_visible()
    expect(page.get_by_test_id("foot-note")).to_contain_text("Consent required")

    page = open_thread(alex, "Jonas Jensen")
    expect(page.locator('[data-banner="opted_out"]')).to_be_visible()
    expect(page.get_by_test_id("foot-note")).to_contain_text("opted out")

    # expired: the reason is the label above the templates that can restart it
    page = open_thread(alex, "Bruno Bernard")
    expect(page.locator('[data-banner="expired"]')).to_be_visible()
    expect(page.get_by_test_id("foot-note")).to_be_hidden()
    expect(page.locator("#quick-label")).to_have_text(re.compile("window has closed"))
    expect(page.get_by_test_id("quick-template").first).to_be_visible()

    page = open_thread(alex, "Elena Eriksen")
    expect(page.locator('[data-banner="expiring"]')).to_contain_text("(in 4 h)")
    expect(page.get_by_test_id("composer")).to_be_visible()
