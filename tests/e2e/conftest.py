"""End-to-end harness: the real ASGI app under Uvicorn, driven by Debian's Chromium through Playwright.

One server per viewport (each on its own copy of a freshly seeded SQLite database, so the iPhone
and iPad runs walk the same flows from the same demo state), one browser per session, a new
browser context per user and test. Skips cleanly when Chromium or Playwright is missing.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
DOCS_SHOTS = ROOT / "docs" / "screenshots"  # refreshed only with RAPPORT_DOCS_SCREENSHOTS=1
PASSWORD = "rapport-demo"
VIEWPORTS = {"iphone": {"width": 390, "height": 844}, "ipad": {"width": 1180, "height": 820}}

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None


def _skip_reason() -> str | None:
    if sync_playwright is None:
        return "the playwright package is not installed"
    if not Path(CHROMIUM).exists():
        return f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _skip_reason()
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)
            if reason and os.environ.get("RAPPORT_REQUIRE_BROWSER"):
                # CI sets this: a browser test that cannot run is a failure there, not a skip.
                raise pytest.UsageError(f"RAPPORT_REQUIRE_BROWSER is set but {reason}")
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


def _server_env(db_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "CELERY_BROKER_URL", "RAPPORT_REQUIRE_SERVICES", "DJANGO_SETTINGS_MODULE")}
    env.update(DATABASE_URL=f"sqlite:///{db_path}", WHATSAPP_BACKEND="sandbox", PYTHONUNBUFFERED="1",
               ALLOWED_HOSTS="127.0.0.1,localhost", DEBUG="0",
               # the HCPs' files and the sandbox's media store beside the server's database, not in the repo
               WHATSAPP_MEDIA_ROOT=str(db_path.with_suffix(".media")),
               WHATSAPP_SANDBOX_MEDIA_DIR=str(db_path.with_suffix(".sandbox-media")))
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def seeded_db():
    """A migrated SQLite database with the demo data and tests/e2e/scenarios.py, built once; servers run on copies."""
    workdir = Path(tempfile.mkdtemp(prefix="rapport-e2e-"))
    db = workdir / "seed.sqlite3"
    env = _server_env(db)
    for args in (["migrate", "--noinput", "-v0"], ["seed_demo"],
                 ["shell", "-c", "from tests.e2e.scenarios import run; run()"]):
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL, timeout=300)
    yield db
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session", params=list(VIEWPORTS))
def server(request, seeded_db):
    """(base URL, viewport name): Uvicorn serving config.asgi on a free 127.0.0.1 port."""
    db = seeded_db.with_name(f"{request.param}.sqlite3")
    shutil.copy(seeded_db, db)
    port = _free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = open(ARTIFACTS / f"server-{request.param}.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning"], cwd=ROOT, env=_server_env(db), stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the server did not start; see {log.name}")
        time.sleep(0.1)
    yield base, request.param
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Session:
    """A signed-in user in their own browser context."""

    def __init__(self, browser, base: str, viewport: str, test_name: str, **context_options):
        """context_options: Playwright's, e.g. locale="fr-FR" (the browser's languages) or timezone_id."""
        self.base, self.viewport, self.test_name = base, viewport, test_name
        self.context = browser.new_context(viewport=VIEWPORTS[viewport], **context_options)
        self.context.set_default_timeout(10_000)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def login(self, username: str):
        page = self.page
        page.goto(self.base + "/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(self.base + "/")
        return self

    def goto(self, path: str):
        self.page.goto(self.base + path)
        return self.page

    def shot(self, step: str, docs: str | None = None):
        """Save a screenshot of the step; `docs` names the copy kept in docs/screenshots/ when asked to."""
        self.page.screenshot(path=str(ARTIFACTS / f"{self.test_name}-{self.viewport}-{step}.png"))
        if docs and os.environ.get("RAPPORT_DOCS_SCREENSHOTS") == "1":
            DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(DOCS_SHOTS / f"{docs}-{self.viewport}.png"))

    def post_webhook(self, body: bytes) -> None:
        """`body` POSTed to the running server's webhook as Meta posts it, signed with the shipped app secret
        (the demo WABAs keep no secret of their own)."""
        import urllib.request

        from chats.whatsapp import signatures
        from config.settings import SHIPPED_SECRETS

        request = urllib.request.Request(self.base + "/webhooks/whatsapp/", data=body, method="POST", headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": signatures.sign(body, SHIPPED_SECRETS["WHATSAPP_APP_SECRET"])})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200

    def wait_live(self):
        self.page.wait_for_function("window.Rapport && window.Rapport.serverTime")


@pytest.fixture
def as_user(request, browser, server):
    """as_user("rep.alex") → a signed-in Session at this test's viewport; closed after the test.
    Keyword arguments go to the browser context (as_user("rep.alex", locale="fr-FR"))."""
    base, viewport = server
    sessions: list[Session] = []

    def make(username: str, **context_options) -> Session:
        session = Session(browser, base, viewport, request.node.originalname, **context_options)
        sessions.append(session.login(username))
        return session

    yield make
    for session in sessions:
        assert not session.errors, f"JavaScript errors: {session.errors}"
        session.context.close()
