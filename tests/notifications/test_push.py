"""Sending a notification over Web Push to a fake push service, and the device's subscription through the API."""
import base64
import json
import logging

import pytest
from py_vapid import Vapid02

from chats.models import Message, PushSubscription, UserProfile
from chats.notifications.notices import NEW_MESSAGES, notify
from chats.notifications.push import Notification, push_to_user
from tests.api.conftest import api_client

pytestmark = pytest.mark.django_db

NOTE = Notification(title="New message", body="Dr. Ada Lovelace wrote to you.", tag="thread-1", url="/chats/1/",
                    kind="message")


def jwt_claims(authorization: str) -> dict:
    token = authorization.split("t=", 1)[1].split(",", 1)[0]
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_the_device_decrypts_the_notification_and_the_request_carries_vapid(vapid, push_service, new_device, alex):
    # given: Alex turned notifications on on one device
    device = new_device()
    subscription = device.subscribe(alex)
    # when: a notification is pushed to Alex
    counts = push_to_user(user_id=alex.pk, notification=NOTE)
    # then: the push service got one encrypted POST that the device's keys open
    assert counts == {"sent": 1, "removed": 0, "failed": 0}
    [received] = push_service.received
    assert received.headers["content-encoding"] == "aes128gcm"
    assert b"Dr. Ada" not in received.body
    assert device.read(received) == {"title": "New message", "body": "Dr. Ada Lovelace wrote to you.",
                                     "tag": "thread-1", "url": "/chats/1/", "kind": "message"}
    # and it is signed with the server's VAPID key (RFC 8292), for this push service, by the configured subject
    authorization = received.headers["authorization"]
    assert authorization.startswith("vapid t=") and f"k={vapid}" in authorization
    assert Vapid02.verify(authorization)
    claims = jwt_claims(authorization)
    assert claims["aud"] == push_service.base and claims["sub"] == "mailto:ops@rapport.example.com"
    assert int(received.headers["ttl"]) > 0
    subscription.refresh_from_db()
    assert subscription.last_used_at is not None


@pytest.mark.parametrize("status", [404, 410])
def test_a_subscription_the_push_service_forgot_is_removed(vapid, push_service, new_device, alex, status):
    device, other = new_device(), new_device()
    device.subscribe(alex)
    other.subscribe(alex)
    push_service.status = status
    counts = push_to_user(user_id=alex.pk, notification=NOTE)
    assert counts == {"sent": 0, "removed": 2, "failed": 0}
    assert not PushSubscription.objects.exists()


def test_a_subscription_is_kept_when_the_push_service_fails_otherwise(vapid, push_service, new_device, alex, caplog):
    device = new_device()
    device.subscribe(alex)
    push_service.status = 500
    with caplog.at_level(logging.WARNING, logger="chats.notifications.push"):
        counts = push_to_user(user_id=alex.pk, notification=NOTE)
    assert counts == {"sent": 0, "removed": 0, "failed": 1}
    assert PushSubscription.objects.filter(endpoint=device.endpoint).exists()
    assert "kept" in caplog.text


def test_an_unreachable_push_service_keeps_the_subscription(vapid, alex, new_device, push_service):
    device = new_device()
    device.endpoint = "http://127.0.0.1:9/push/nobody"  # the discard port: nothing listens
    device.subscribe(alex)
    assert push_to_user(user_id=alex.pk, notification=NOTE)["failed"] == 1
    assert PushSubscription.objects.count() == 1


def test_nothing_is_sent_without_vapid_keys(settings, push_service, new_device, alex):
    settings.VAPID_PUBLIC_KEY = settings.VAPID_PRIVATE_KEY = ""
    new_device().subscribe(alex)
    assert push_to_user(user_id=alex.pk, notification=NOTE) == {"sent": 0, "removed": 0, "failed": 0}
    assert push_service.received == []


@pytest.fixture
def ada_wrote(threads):
    """Ada's message in Alex's thread."""
    thread = threads["rep.alex"]
    return Message.objects.create(thread=thread, account=thread.account, phone_number=thread.phone_number,
                                  direction="inbound", kind="text", status="received", wamid="wamid.ada.1",
                                  body="My patient asked about the dosage for children under twelve, "
                                       "which I would rather discuss in person " + "at length " * 20)


def test_a_new_message_notification_holds_no_message_text_by_default(vapid, push_service, new_device, alex, ada_wrote):
    device = new_device()
    device.subscribe(alex)
    notify(kind=NEW_MESSAGES, ids=[ada_wrote.pk])
    shown = device.read(push_service.received[0])
    assert shown == {"title": "New message", "body": "Dr. Ada Lovelace wrote to you.",
                     "tag": f"thread-{ada_wrote.thread_id}", "url": f"/chats/{ada_wrote.thread_id}/",
                     "kind": "message"}
    assert "dosage" not in json.dumps(shown)


def test_a_notification_speaks_the_reps_own_language(vapid, push_service, new_device, alex, blair, ada_wrote):
    # given Alex picked French (a push has no browser to ask: blank means English)
    UserProfile.objects.filter(user=alex).update(language="fr")
    device = new_device()
    device.subscribe(alex)
    notify(kind=NEW_MESSAGES, ids=[ada_wrote.pk])
    shown = device.read(push_service.received[0])
    assert (shown["title"], shown["body"]) == ("Nouveau message", "Dr. Ada Lovelace vous a écrit.")


def test_the_setting_lets_the_message_text_in_truncated(vapid, settings, push_service, new_device, alex, ada_wrote):
    settings.PUSH_MESSAGE_TEXT = True
    device = new_device()
    device.subscribe(alex)
    notify(kind=NEW_MESSAGES, ids=[ada_wrote.pk])
    shown = device.read(push_service.received[0])
    assert shown["title"] == "Dr. Ada Lovelace"
    assert shown["body"].startswith("My patient asked about the dosage") and shown["body"].endswith("…")
    assert len(shown["body"]) == 120


def test_only_the_threads_rep_is_notified(vapid, push_service, new_device, alex, blair, ada_wrote):
    alexs, blairs = new_device("alex"), new_device("blair")
    alexs.subscribe(alex)
    blairs.subscribe(blair)
    notify(kind=NEW_MESSAGES, ids=[ada_wrote.pk])
    assert [r.path for r in push_service.received] == ["/push/alex"]


# --- the API the web chat uses ------------------------------------------------------------------


def test_the_key_endpoint_says_whether_push_is_on(settings, vapid, alex):
    assert api_client(alex).get("/api/v1/push/key/").json() == {"enabled": True, "public_key": vapid}
    settings.VAPID_PRIVATE_KEY = ""
    assert api_client(alex).get("/api/v1/push/key/").json() == {"enabled": False, "public_key": ""}


def test_subscribe_upserts_by_endpoint_for_the_signed_in_rep(client, vapid, new_device, alex, blair):
    device = new_device()
    chrome = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile"
    client.force_login(alex)
    first = client.post("/api/v1/push/subscribe/", device.as_json(), content_type="application/json",
                        HTTP_USER_AGENT=chrome)
    assert first.status_code == 201 and first.json()["device"] == "Chrome on Android"
    again = client.post("/api/v1/push/subscribe/", device.as_json(), content_type="application/json")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    # the same browser, now signed in as Blair: the device is Blair's
    client.force_login(blair)
    assert client.post("/api/v1/push/subscribe/", device.as_json(), content_type="application/json").status_code == 200
    assert list(PushSubscription.objects.values_list("user__username", flat=True)) == ["rep.blair"]


@pytest.mark.parametrize("change, field", [
    ({"endpoint": "ftp://push.example.com/x"}, "endpoint"),
    ({"keys": {"p256dh": "bm90IGEga2V5", "auth": "AAAAAAAAAAAAAAAAAAAAAA"}}, "p256dh"),
    ({"keys": {"p256dh": None, "auth": "short"}}, None),
    ({"endpoint": ""}, None),
])
def test_a_bad_subscription_is_refused_with_a_code(vapid, new_device, alex, change, field):
    body = {**new_device().as_json(), **change}
    response = api_client(alex).post("/api/v1/push/subscribe/", body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] in ("invalid", "invalid_subscription") and response.json()["detail"]
    assert not PushSubscription.objects.exists()


def test_a_private_endpoint_is_refused_on_the_services_profile(settings, vapid, alex, new_device):
    settings.PUSH_ALLOW_PRIVATE_ENDPOINTS = False
    response = api_client(alex).post("/api/v1/push/subscribe/", new_device().as_json(), format="json")
    assert (response.status_code, response.json()["code"]) == (400, "invalid_subscription")


@pytest.mark.parametrize("host", ["10.1.2.3", "[::ffff:127.0.0.1]", "224.0.0.1", "[ff02::1]"])
def test_an_internal_or_multicast_address_is_refused_as_webhooks_refuse_it(settings, vapid, alex, new_device, host):
    settings.PUSH_ALLOW_PRIVATE_ENDPOINTS = False
    body = {**new_device().as_json(), "endpoint": f"https://{host}/push/abc"}
    response = api_client(alex).post("/api/v1/push/subscribe/", body, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "invalid_subscription")
    assert not PushSubscription.objects.exists()


def test_subscribe_without_keys_on_the_server_is_a_409(settings, alex, new_device):
    settings.VAPID_PUBLIC_KEY = ""
    response = api_client(alex).post("/api/v1/push/subscribe/", new_device().as_json(), format="json")
    assert (response.status_code, response.json()["code"]) == (409, "push_off")


def test_unsubscribe_removes_only_the_reps_own_device(vapid, new_device, alex, blair):
    alexs, blairs = new_device(), new_device()
    alexs.subscribe(alex)
    blairs.subscribe(blair)
    assert api_client(alex).post("/api/v1/push/unsubscribe/", {"endpoint": blairs.endpoint},
                                 format="json").status_code == 204
    assert api_client(alex).post("/api/v1/push/unsubscribe/", {"endpoint": alexs.endpoint},
                                 format="json").status_code == 204
    assert list(PushSubscription.objects.values_list("user__username", flat=True)) == ["rep.blair"]


def test_signing_out_turns_this_devices_notifications_off(client, vapid, new_device, alex):
    device, other = new_device(), new_device()
    other.subscribe(alex)
    client.force_login(alex)
    client.post("/api/v1/push/subscribe/", device.as_json(), content_type="application/json")
    client.post("/accounts/logout/")
    assert list(PushSubscription.objects.values_list("endpoint", flat=True)) == [other.endpoint]


def test_the_push_api_needs_the_license_and_a_sign_in(vapid, drew, client):
    assert api_client(drew).get("/api/v1/push/key/").json()["code"] == "license_required"
    response = client.post("/api/v1/push/subscribe/", {}, content_type="application/json")
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"


def test_the_system_check_warns_of_unusable_push_settings(settings, vapid):
    from chats.checks import push_settings_usable

    assert push_settings_usable() == []
    settings.VAPID_SUBJECT = "ops@rapport.example.com"
    assert [w.id for w in push_settings_usable()] == ["rapport.W011"]
    settings.VAPID_SUBJECT, settings.VAPID_PRIVATE_KEY = "mailto:ops@rapport.example.com", "bm90IGEga2V5"
    assert [w.id for w in push_settings_usable()] == ["rapport.W012"]
    settings.VAPID_PRIVATE_KEY = ""
    assert [w.id for w in push_settings_usable()] == ["rapport.W010"]
    settings.VAPID_PUBLIC_KEY = settings.VAPID_SUBJECT = ""
    assert push_settings_usable() == []


def test_admins_list_the_devices_read_only(admin_client, vapid, new_device, alex):
    device = new_device()
    subscription = device.subscribe(alex)
    listing = admin_client.get("/admin/chats/pushsubscription/")
    assert listing.status_code == 200 and b"Chrome on Android" in listing.content and b"127.0.0.1" in listing.content
    page = admin_client.get(f"/admin/chats/pushsubscription/{subscription.pk}/change/")
    assert page.status_code == 200 and device.auth.encode() not in page.content
    assert admin_client.get("/admin/chats/pushsubscription/add/").status_code == 403


def test_a_rep_who_lost_the_license_or_was_deactivated_is_not_notified(vapid, push_service, new_device, alex,
                                                                       ada_wrote):
    from chats.models import UserProfile

    new_device().subscribe(alex)
    UserProfile.objects.filter(user=alex).update(has_engage_license=False)
    notify(kind=NEW_MESSAGES, ids=[ada_wrote.pk])
    UserProfile.objects.filter(user=alex).update(has_engage_license=True)
    type(alex).objects.filter(pk=alex.pk).update(is_active=False)
    notify(kind=NEW_MESSAGES, ids=[ada_wrote.pk])
    assert push_service.received == []
