"""check --deploy on production settings, login throttling, secrets never echoed."""
import logging
import os
import secrets
import subprocess
import time
import sys
import uuid
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import Client

from chats.models import Message
from tests.factories import AccountFactory, PhoneNumberFactory, ThreadFactory, UserFactory, WabaFactory, api_token
from tests.whatsapp.conftest import post_webhook, run_on_commit, text_body

ROOT = Path(__file__).resolve().parents[2]


def test_check_deploy_is_clean_on_production_settings():
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DJANGO_SECURE="1", DEBUG="0", SECRET_KEY=secrets.token_urlsafe(64), ALLOWED_HOSTS="rapport.example")
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def _manage(*args, **env_overrides):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(env_overrides)
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_check_deploy_refuses_the_shipped_secret_key():
    result = _manage("manage.py", "check", "--deploy", DJANGO_SECURE="1", DEBUG="0", ALLOWED_HOSTS="rapport.example")
    assert result.returncode != 0 and "rapport.E002" in result.stderr + result.stdout


def test_the_cloud_backend_does_not_start_with_shipped_or_empty_secrets():
    # given the cloud backend with the app secret left as shipped and the verify token empty
    cloud = {"WHATSAPP_BACKEND": "cloud", "SECRET_KEY": secrets.token_urlsafe(50), "WHATSAPP_VERIFY_TOKEN": "",
             "WHATSAPP_ACCESS_TOKEN": secrets.token_urlsafe(32)}
    # then the system check fails naming each, and the ASGI application refuses to load
    check = _manage("manage.py", "check", **cloud)
    output = check.stderr + check.stdout
    assert check.returncode != 0
    assert "WHATSAPP_APP_SECRET is empty or the value Rapport ships with" in output
    assert "WHATSAPP_VERIFY_TOKEN is empty or the value Rapport ships with" in output
    assert "SECRET_KEY is empty" not in output and "WHATSAPP_ACCESS_TOKEN is empty" not in output
    serve = _manage("-c", "import config.asgi", **cloud)
    assert serve.returncode != 0 and "Rapport will not serve" in serve.stderr
    # and with every secret its own, both start
    own = cloud | {"WHATSAPP_APP_SECRET": secrets.token_urlsafe(32), "WHATSAPP_VERIFY_TOKEN": secrets.token_urlsafe(16)}
    assert _manage("manage.py", "check", **own).returncode == 0
    assert _manage("-c", "import config.asgi", **own).returncode == 0


_WORKER_START = ("from celery.signals import worker_init; from config.celery import app; "
                 "worker_init.send(sender=None)")  # what `celery -A config worker` sends before its pool starts


def test_a_celery_worker_on_the_cloud_backend_does_not_start_with_shipped_secrets():
    cloud = {"WHATSAPP_BACKEND": "cloud", "SECRET_KEY": secrets.token_urlsafe(50),
             "WHATSAPP_ACCESS_TOKEN": secrets.token_urlsafe(32), "WHATSAPP_VERIFY_TOKEN": secrets.token_urlsafe(16)}
    # the app secret left as shipped: the worker refuses, as the web tier does
    work = _manage("-c", _WORKER_START, **cloud)
    assert work.returncode != 0 and "Rapport will not serve" in work.stderr and "WHATSAPP_APP_SECRET" in work.stderr
    # with its own secret it starts, and so does the sandbox's worker with the shipped values
    assert _manage("-c", _WORKER_START, **cloud, WHATSAPP_APP_SECRET=secrets.token_urlsafe(32)).returncode == 0
    assert _manage("-c", _WORKER_START).returncode == 0


def test_the_sandbox_keeps_starting_with_the_shipped_values():
    assert _manage("manage.py", "check").returncode == 0
    assert _manage("-c", "import config.asgi").returncode == 0


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.mark.django_db
def test_token_endpoint_is_throttled_after_five_failures():
    UserFactory(username="throttle.alex")
    client = Client()
    wrong = {"username": "throttle.alex", "password": "nope"}
    answers = [client.post("/api/v1/auth/token/", wrong, content_type="application/json").status_code for _ in range(5)]
    assert answers == [400] * 5
    # when: a sixth try, even with the right password
    response = client.post("/api/v1/auth/token/", {"username": "throttle.alex", "password": "rapport-demo"},
                           content_type="application/json")
    # then: 429 too_many_attempts
    assert response.status_code == 429 and response.json()["code"] == "too_many_attempts"
    # and: another username from the same address is not locked out
    UserFactory(username="throttle.blair")
    ok = client.post("/api/v1/auth/token/", {"username": "throttle.blair", "password": "rapport-demo"},
                     content_type="application/json")
    assert ok.status_code == 200


@pytest.mark.django_db
def test_login_page_is_throttled_after_five_failures():
    UserFactory(username="throttle.casey")
    client = Client()
    for _ in range(5):
        assert client.post("/accounts/login/", {"username": "throttle.casey", "password": "nope"}).status_code == 200
    response = client.post("/accounts/login/", {"username": "throttle.casey", "password": "rapport-demo"})
    assert response.status_code == 429 and b"Too many failed sign-in attempts" in response.content


@pytest.mark.django_db
def test_a_success_resets_the_count():
    UserFactory(username="throttle.drew")
    client = Client()
    for _ in range(4):
        client.post("/accounts/login/", {"username": "throttle.drew", "password": "nope"})
    assert client.post("/accounts/login/", {"username": "throttle.drew", "password": "rapport-demo"}).status_code == 302
    client.logout()
    for _ in range(4):
        assert client.post("/accounts/login/", {"username": "throttle.drew", "password": "nope"}).status_code == 200


@pytest.mark.django_db
def test_secrets_never_in_responses_or_logs(settings, caplog, fake_graph):
    # given: a WABA with its own secret and token, and the global ones
    app_secret, access_token = "waba-secret-" + uuid.uuid4().hex, "waba-token-" + uuid.uuid4().hex
    settings.WHATSAPP_APP_SECRET = "global-secret-" + uuid.uuid4().hex
    settings.WHATSAPP_ACCESS_TOKEN = "global-token-" + uuid.uuid4().hex
    waba = WabaFactory(app_secret=app_secret, access_token=access_token)
    alex = UserFactory(username="sec.logs")
    number = PhoneNumberFactory(waba=waba, reps=[alex])
    ada = AccountFactory(team=[alex])
    thread = ThreadFactory(user=alex, account=ada, phone_number=number)
    token_key = api_token(alex)
    admin = UserFactory(username="sec.admin", is_staff=True, is_superuser=True)
    caplog.set_level(logging.DEBUG)
    bodies = []
    # when: an HCP writes (signed with the WABA's secret), the rep answers, Graph fails once, an admin looks
    bodies.append(post_webhook(Client(), text_body(number=number, account=ada, wamid="wamid.LOG1", ts=int(time.time())), secret=app_secret))
    fake_graph.error(131000, "Something went wrong", status=500)
    api = Client(HTTP_AUTHORIZATION=f"Token {token_key}")
    with run_on_commit():
        bodies.append(api.post(f"/api/v1/threads/{thread.pk}/messages/",
                               {"kind": "text", "text": "hello", "client_id": str(uuid.uuid4())},
                               content_type="application/json"))
    bodies.append(api.get("/api/v1/me/"))
    bodies.append(api.get(f"/api/v1/threads/{thread.pk}/messages/"))
    staff = Client()
    staff.force_login(admin)
    bodies.append(staff.get(f"/admin/chats/whatsappbusinessaccount/{waba.pk}/change/"))
    bodies.append(staff.get("/admin/chats/whatsappbusinessaccount/"))
    # then: the send reached Graph with the WABA's token, and no secret shows anywhere
    assert fake_graph.messages_posted()[-1].headers["Authorization"] == f"Bearer {access_token}"
    assert Message.objects.filter(wamid="wamid.LOG1").exists()
    assert all(r.status_code in (200, 201) for r in bodies), [r.status_code for r in bodies]
    text = "\n".join(r.content.decode(errors="replace") for r in bodies) + "\n" + caplog.text
    for secret in (app_secret, access_token, settings.WHATSAPP_APP_SECRET, settings.WHATSAPP_ACCESS_TOKEN, token_key):
        assert secret not in text
