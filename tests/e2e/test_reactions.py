"""Reactions in the browser: the HCP's appears under the bubble live; the rep reacts from the bubble's
menu (press and hold, right-click or the small react button). A shared location links to the map and a
contact card shows as a card. The thread: tests/e2e/scenarios.py (Dr. Hiro Haddad)."""
import json
import time

from playwright.sync_api import expect

from tests.e2e.test_chat_flows import open_chat_from_search


def hcp_reacts(session, *, emoji: str, target: str) -> None:
    """Hiro's reaction, as Meta's signed webhook carries it."""
    from chats.devtools.demo import generated_account_rows
    from tests.e2e.scenarios import REACTION_THREAD, SHARED

    number = next(row[2] for row in generated_account_rows(60) if row[0] == REACTION_THREAD).lstrip("+")
    body = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "0", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp", "metadata": {"display_phone_number": "", "phone_number_id": SHARED},
            "contacts": [{"profile": {"name": "Hiro"}, "wa_id": number}],
            "messages": [{"from": number, "id": f"wamid.e2e.react.{time.time_ns()}", "timestamp": str(int(time.time())),
                          "type": "reaction", "reaction": {"message_id": target, "emoji": emoji}}]}}]}]}).encode()
    session.post_webhook(body)


def test_reactions_both_ways_and_rich_messages(as_user):
    from tests.e2e.scenarios import REACTION_TARGET

    alex = as_user("rep.alex")
    page = open_chat_from_search(alex, "Hiro Haddad")
    alex.wait_live()
    mine = page.locator(".msg", has_text="Shall we meet at the clinic on Tuesday?")
    answer = page.locator(".msg", has_text="Yes, Tuesday at 10 works.")
    # rich messages: the location links to the map, the contact card is a card
    expect(page.get_by_test_id("map-link")).to_have_attribute("href", "https://www.google.com/maps?q=48.8693,2.3316")
    card = page.get_by_test_id("contact-card")
    expect(card).to_contain_text("Dr. Omar Farouk")
    expect(card).to_contain_text("+44 7700 900456")

    # when Hiro reacts 👍 to Alex's message, it appears under that bubble, live
    hcp_reacts(alex, emoji="👍", target=REACTION_TARGET)
    chip = mine.get_by_test_id("reaction")
    expect(chip).to_have_text("👍")
    expect(chip).to_have_attribute("data-by", "hcp")

    # when Alex opens the menu on Hiro's answer (press and hold on a phone, right-click on a tablet) and picks 🙏
    if alex.viewport == "iphone":
        box = answer.locator(".bubble").bounding_box()
        page.mouse.move(box["x"] + 20, box["y"] + 10)
        answer.locator(".bubble").dispatch_event("pointerdown", {"pointerType": "touch", "clientX": box["x"] + 20,
                                                                 "clientY": box["y"] + 10})
    else:
        answer.locator(".bubble").click(button="right")
    picker = page.get_by_test_id("reaction-picker")
    expect(picker).to_be_visible()
    alex.shot("reaction-picker", docs="reaction-picker")
    picker.get_by_role("menuitemradio", name="React 🙏").click()
    # then it shows under Hiro's answer, as the rep's
    mine_chip = answer.get_by_test_id("reaction")
    expect(mine_chip).to_have_text("🙏")
    expect(mine_chip).to_have_attribute("data-by", "rep")
    expect(page.get_by_test_id("foot-error")).to_have_text("")
    alex.shot("reactions", docs="reactions")

    # and both stay after a reload; Hiro removing his 👍 clears it live
    page.reload()
    expect(page.locator(".msg", has_text="Yes, Tuesday at 10 works.").get_by_test_id("reaction")).to_have_text("🙏")
    hcp_reacts(alex, emoji="", target=REACTION_TARGET)
    expect(page.locator(".msg", has_text="Shall we meet at the clinic on Tuesday?").get_by_test_id("reaction")) \
        .to_have_count(0)
