"""While the rep types, the web chat asks for WhatsApp's typing indicator: once per burst, never per key."""
from playwright.sync_api import expect

from tests.e2e.test_chat_flows import open_chat_from_search


def test_a_burst_of_keystrokes_makes_one_typing_call(as_user):
    # given: Alex in a thread with an open window (tests/e2e/scenarios.py), the page's clock under the test's hand
    alex = as_user("rep.alex")
    page = open_chat_from_search(alex, "Amara Abbott")
    composer = page.get_by_test_id("composer")
    expect(composer).to_be_visible()
    calls = []
    page.on("request", lambda r: calls.append(r) if r.method == "POST" and r.url.endswith("/typing/") else None)
    page.clock.install()

    # when: the rep types a sentence, key by key
    with page.expect_response(lambda r: r.url.endswith("/typing/")) as answer:
        composer.press_sequentially("Thank you, doctor. I will bring the study on Monday.")
    # then: one call, accepted, for the whole burst
    assert answer.value.status == 202
    assert len(calls) == 1

    # when: the rep keeps typing for another 15 seconds
    page.clock.fast_forward("00:15")
    composer.press_sequentially(" Best regards")
    # then: still the one call (WhatsApp shows the indicator for about 25 seconds)
    assert len(calls) == 1

    # when: 20 seconds after the first call the rep is still typing
    page.clock.fast_forward("00:06")
    with page.expect_response(lambda r: r.url.endswith("/typing/")):
        composer.press_sequentially(".")
    # then: a second call keeps the indicator up
    assert len(calls) == 2
    alex.shot("typing")
