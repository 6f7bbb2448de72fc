"""An HCP's photo in the web chat: sent through the simulator (the real webhook path, the sandbox's media
store, the fetch task), shown in the rep's open thread live, full size a tap away."""
import struct
import zlib

from playwright.sync_api import expect

from tests.e2e.test_chat_flows import CASEY, open_chat_from_search


def png(width: int = 480, height: int = 320) -> bytes:
    """A small PNG (a blue-to-green gradient with a white band), built without an imaging library."""
    rows = bytearray()
    for y in range(height):
        rows.append(0)
        for x in range(width):
            band = height // 2 - 12 < y < height // 2 + 12
            rows += bytes((255, 255, 255) if band else (30, 80 + 150 * x // width, 200 - 120 * y // height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(rows))) + chunk(b"IEND", b"")


def test_an_hcps_photo_arrives_in_the_open_thread(as_user):
    # given: Casey has the thread with Dr. Marie Curie open
    casey, admin = as_user("rep.casey"), as_user("admin")
    page = open_chat_from_search(casey, "Marie Curie")
    # when: Dr. Curie sends a photo with a caption (the staff simulator, as the HCP)
    sim = admin.goto("/simulator/")
    sim.select_option("#id_account", label="Dr. Marie Curie")
    sim.select_option("#id_phone_number", label=CASEY)
    sim.fill("#id_text", "Voici le schéma")
    sim.set_input_files("#id_file", files=[{"name": "schema.png", "mimeType": "image/png", "buffer": png()}])
    sim.get_by_test_id("sim-send").click()
    expect(sim.get_by_test_id("sim-result")).to_contain_text("Delivered to")
    # then: the photo shows in Casey's thread, loaded from Rapport's own link, with its caption
    bubble = page.locator(".msg--in").last
    image = bubble.get_by_test_id("media-image")
    expect(image).to_be_visible()
    expect(bubble.locator(".bubble__body")).to_have_text("Voici le schéma")
    page.wait_for_function("img => img.complete && img.naturalWidth === 480", arg=image.element_handle())
    link = bubble.locator("a.media__open")
    assert link.get_attribute("href") == image.get_attribute("src")
    assert link.get_attribute("target") == "_blank"
    box = image.bounding_box()
    assert box["width"] <= 240 and box["height"] <= 240  # a thumbnail; the link opens it full size
    casey.shot("photo", docs="inbound-photo")
    # and: Casey reacts to the photo from its menu; the reaction sits under it
    if casey.viewport == "iphone":
        box = bubble.locator(".bubble").bounding_box()
        bubble.locator(".bubble").dispatch_event("pointerdown", {"pointerType": "touch", "clientX": box["x"] + 20,
                                                                 "clientY": box["y"] + 10})
    else:
        bubble.locator(".bubble").click(button="right")
    page.get_by_test_id("reaction-picker").get_by_role("menuitemradio", name="React ❤️").click()
    expect(bubble.get_by_test_id("reaction")).to_have_text("❤️")
    expect(bubble.get_by_test_id("reaction")).to_have_attribute("data-by", "rep")
    page.keyboard.press("Escape")
    casey.shot("photo-reaction", docs="photo-and-reaction")
    # and: the full-size file opens for Casey
    full = casey.context.request.get(casey.base + link.get_attribute("href"))
    assert full.status == 200 and full.headers["content-type"] == "image/png"
    assert full.headers["x-content-type-options"] == "nosniff"
    if casey.viewport == "ipad":  # the iPad upright as well
        page.set_viewport_size({"width": 820, "height": 1180})
        expect(image).to_be_visible()
        casey.shot("photo-portrait")
