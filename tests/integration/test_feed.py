"""The change feed: every change in commit order from an opaque cursor, never missed or doubled, also under
concurrent writers (PostgreSQL); `updated_since` and the read-only thread and message reads."""
import random
import threading
import time

import pytest
from django.db import connection, connections, transaction

from chats.integration.feed import changes_record
from chats.models import AuditEvent, Change
from chats.realtime.events import publish_on_commit
from consent.services import consent_set_by_admin
from tests.factories import AccountFactory, PhoneNumberFactory, UserFactory
from tests.integration.conftest import make_integration
from tests.whatsapp.conftest import post_webhook, status_body, text_body
from tests.whatsapp.test_user_ids import system_notice


def read_all(client, cursor=None, limit=100):
    seen = []
    while True:
        page = client.get("/api/v1/integration/changes/", {"limit": limit, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.json()
        body = page.json()
        seen += body["results"]
        cursor = body["cursor"]
        if not body["has_more"]:
            return seen, cursor


@pytest.mark.django_db
def test_an_hcp_message_and_its_reply_status_reach_the_feed_in_order(client):
    # given: a rep, an HCP on their team, a number
    _, crm = make_integration("events:read", "messages:read")
    rep = UserFactory(username="alex")
    number = PhoneNumberFactory(reps=[rep])
    ada = AccountFactory(whatsapp_number="+447700900001", team=[rep], external_id="VEEVA-1")
    # when: Ada writes, then the cursor is kept, then a status comes for an unknown wamid (no change) and she writes again
    post_webhook(client, text_body(number=number, account=ada, wamid="wamid.A1", text="Hello"))
    first, cursor = read_all(crm)
    post_webhook(client, status_body(number=number, wamid="wamid.unknown", status="delivered"))
    post_webhook(client, text_body(number=number, account=ada, wamid="wamid.A2", text="Again", ts=1_700_000_050))
    later, _ = read_all(crm, cursor)
    # then: each change once, in order, the thread's state before its message, with the thread and data
    assert [c["type"] for c in first] == ["thread.state", "message.created"]
    assert [c["type"] for c in later] == ["thread.state", "message.created"]
    created = later[1]
    assert created["data"]["message"]["body"] == "Again" and created["thread"] == created["data"]["thread"]
    everything, _ = read_all(crm, limit=1)  # one at a time from the start: the same four
    assert [c["id"] for c in everything] == [c["id"] for c in first + later]
    # the thread and its messages, read-only, audited as the integration's reads
    threads = crm.get("/api/v1/integration/threads/").json()["results"]
    assert threads[0]["account"]["external_id"] == "VEEVA-1" and threads[0]["rep"]["username"] == "alex"
    messages = crm.get(f"/api/v1/integration/threads/{threads[0]['id']}/messages/").json()["results"]
    assert [m["body"] for m in messages] == ["Hello", "Again"]
    assert AuditEvent.objects.filter(kind="integration.read").count() >= 3


@pytest.mark.django_db
def test_a_consent_change_is_one_change_whether_or_not_reps_chat_with_the_hcp():
    _, crm = make_integration("events:read")
    reps = [UserFactory(), UserFactory()]
    number = PhoneNumberFactory(reps=reps)
    ada = AccountFactory(team=reps, consent="opted_in")
    from chats.models import Thread
    for rep in reps:
        Thread.objects.create(user=rep, account=ada, phone_number=number)
    grace = AccountFactory(consent="opted_in")  # nobody chats with her
    admin = UserFactory()
    consent_set_by_admin(account=ada, status="opted_out", actor=admin)
    consent_set_by_admin(account=grace, status="opted_out", actor=admin)
    changes, _ = read_all(crm)
    assert [(c["type"], c["account"], c["data"]) for c in changes] == [
        ("consent.changed", ada.pk, {"account": ada.pk, "consent": "opted_out"}),
        ("consent.changed", grace.pk, {"account": grace.pk, "consent": "opted_out"})]


@pytest.mark.django_db
def test_a_rolled_back_write_leaves_no_change_and_bad_cursors_are_400():
    _, crm = make_integration("events:read")
    with pytest.raises(RuntimeError), transaction.atomic():
        publish_on_commit(1, "thread.state", {"thread": 1, "state": {}})
        raise RuntimeError("rolled back")
    assert not Change.objects.exists()
    for cursor in ("garbage", "YzI6MTI", "!!"):
        response = crm.get("/api/v1/integration/changes/", {"cursor": cursor})
        assert response.status_code == 400 and response.json()["code"] == "invalid_cursor"


@pytest.mark.django_db
def test_an_hcp_rekeyed_by_meta_is_a_change(client):
    _, crm = make_integration("events:read")
    rep = UserFactory()
    number = PhoneNumberFactory(reps=[rep])
    AccountFactory(whatsapp_number="+447700900001", team=[rep], external_id="VEEVA-1")
    post_webhook(client, system_notice(number, wamid="wamid.S1", wa_from="447700900001", system={
        "body": "User Ada changed from 447700900001 to 447700900777", "wa_id": "447700900777",
        "type": "user_changed_number"}))
    rekeyed = [c for c in read_all(crm)[0] if c["type"] == "account.rekeyed"]
    assert len(rekeyed) == 1 and rekeyed[0]["data"]["external_id"] == "VEEVA-1"
    assert rekeyed[0]["data"]["whatsapp_number"] == "+447700900777"
    assert rekeyed[0]["data"]["changes"]["whatsapp_number"] == {"from": "+447700900001", "to": "+447700900777"}


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_no_gaps_no_duplicates():
    """Writers commit in another order than they wrote; a reader pages all along. It sees each change once."""
    if connection.vendor != "postgresql":
        pytest.skip("concurrency needs PostgreSQL (SQLite serialises writers)")
    _, crm = make_integration("events:read")
    writers, per_writer = 8, 25
    done = threading.Event()
    seen, errors = [], []

    def write(n):
        try:
            for i in range(per_writer):
                with transaction.atomic():
                    changes_record([("message.status", {"thread": n, "message": {"id": n * 1000 + i}})])
                    time.sleep(random.uniform(0, 0.01))  # hold the transaction open: commits interleave
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    def read():
        cursor = None
        try:
            while True:
                finished = done.is_set()
                page, cursor = read_all(crm, cursor, limit=7)
                seen.extend(page)
                if finished:
                    return
                time.sleep(0.002)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    reader = threading.Thread(target=read)
    reader.start()
    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    reader.join()
    assert not errors, errors
    ids = [c["data"]["message"]["id"] for c in seen]
    assert len(ids) == len(set(ids)) == writers * per_writer  # nothing missed, nothing doubled
    for n in range(writers):  # each writer's changes in the order it committed them
        mine = [i for i in ids if i // 1000 == n]
        assert mine == sorted(mine)
    assert sorted(Change.objects.values_list("seq", flat=True)) == list(range(1, writers * per_writer + 1))
