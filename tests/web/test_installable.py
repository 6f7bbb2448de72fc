"""The web chat installs as an app: manifest, icons, favicon, service worker, offline page."""
import pytest

pytestmark = pytest.mark.django_db


def test_the_manifest_says_how_the_app_installs(client):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200 and response["Content-Type"] == "application/manifest+json"
    manifest = response.json()
    assert (manifest["name"], manifest["start_url"], manifest["display"]) == ("Rapport", "/chats/", "standalone")
    assert manifest["theme_color"] == "#0a6b4f"
    sizes = {(icon["sizes"], icon["purpose"]) for icon in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    for icon in manifest["icons"]:  # each icon is served, a PNG of the size it claims
        body = b"".join(client.get(icon["src"]).streaming_content)
        assert body[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = int.from_bytes(body[16:20], "big"), int.from_bytes(body[20:24], "big")
        assert f"{width}x{height}" == icon["sizes"]


def test_favicon_is_an_icon_not_a_404(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response["Content-Type"] == "image/x-icon"
    assert b"".join(response.streaming_content)[:4] == b"\x00\x00\x01\x00"


def test_the_service_worker_is_served_from_the_root_and_never_cached_stale(client):
    response = client.get("/sw.js")
    assert response.status_code == 200 and response["Content-Type"] == "text/javascript"
    assert response["Service-Worker-Allowed"] == "/" and "no-cache" in response["Cache-Control"]
    assert b"/offline/" in b"".join(response.streaming_content)


def test_the_offline_page_needs_no_sign_in_and_holds_no_user_data(admin_client):
    # the service worker caches it for whoever uses the device next: no name, no CSRF token
    page = admin_client.get("/offline/").content.decode()
    assert "You are offline" in page
    assert "admin" not in page and "csrfmiddlewaretoken" not in page and "Sign out" not in page


def test_pages_link_the_manifest_and_icons(admin_client):
    page = admin_client.get("/").content.decode()
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page
    assert 'rel="apple-touch-icon"' in page and 'href="/favicon.ico"' in page
    assert "js/register-sw.js" in page
