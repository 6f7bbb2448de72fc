"""Sends and answers racing on PostgreSQL: the Conversation row lock makes the outcome consistent."""
import threading
import time
import uuid

import pytest
from django.db import connection, connections
from django.test import Client

from chats.models import AuditEvent, Conversation, Message
from tests.api.conftest import api_client
from tests.whatsapp.conftest import post_webhook, text_body

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("concurrency needs PostgreSQL (SQLite serialises writers)")


def race(*jobs):
    """Run each job in its own thread (own DB connection), all released together by a barrier."""
    barrier = threading.Barrier(len(jobs))
    results, errors = [None] * len(jobs), []

    def run(i, job):
        try:
            barrier.wait()
            results[i] = job()
        except Exception as exc:  # surfaced below, so a crash fails the test
            errors.append(exc)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    return results


def post_template(thread, template, client_id=None):
    return lambda: api_client(thread.user).post(f"/api/v1/threads/{thread.pk}/messages/", {
        "kind": "template", "template": template.pk, "client_id": str(client_id or uuid.uuid4())}, format="json")


@pytest.mark.parametrize("attempt", range(3))
def test_two_templates_and_an_answer_at_once_end_consistent(attempt, threads, templates, ada, shared_number, backend):
    alex, blair = threads["rep.alex"], threads["rep.blair"]
    answer = text_body(number=shared_number, account=ada, text="Yes", wamid=f"wamid.RACE.{attempt}",
                       ts=int(time.time()))
    sent_alex, sent_blair, hcp = race(post_template(alex, templates["intro"]), post_template(blair, templates["intro"]),
                                      lambda: post_webhook(Client(), answer))
    assert hcp.status_code == 200
    # each template either went out, or came after the answer had given the other rep the window
    for response in (sent_alex, sent_blair):
        assert response.status_code == 201 or (response.status_code == 409
                                               and response.json()["code"] == "conversation_locked")
    accepted = [r for r in (sent_alex, sent_blair) if r.status_code == 201]
    assert accepted, "the first template to take the lock always goes out"
    # exactly one conversation, one row per accepted template, one answer: nothing lost, nothing doubled
    conversation = Conversation.objects.get()
    templates_sent = list(Message.objects.filter(direction="outbound").order_by("created_at", "id"))
    [reply] = Message.objects.filter(direction="inbound")
    assert len(templates_sent) == len(accepted) == len(backend.sent)
    assert AuditEvent.objects.filter(kind="message.received").count() == 1
    # the latest template (by the lock's order) is the one recorded
    assert conversation.last_template_by_id == templates_sent[-1].sender_id
    before_answer = [m for m in templates_sent if m.created_at < reply.created_at]
    if before_answer:
        # the answer went to whichever template committed last before it, who owns the window
        assert reply.thread.user_id == before_answer[-1].sender_id
        assert conversation.owner_id == reply.thread.user_id
    else:
        assert reply.thread is None and conversation.owner_id is None  # shared number, nobody had asked yet
    if len(accepted) == 1:
        # the refused rep was locked out by the window the answer opened for the other
        assert reply.thread is not None and reply.thread.user_id == templates_sent[0].sender_id
    assert Conversation.objects.filter(owner__isnull=False).count() <= 1


def test_the_same_client_id_posted_twice_at_once_makes_one_message(threads, templates, backend):
    alex = threads["rep.alex"]
    key = uuid.uuid4()
    first, second = race(post_template(alex, templates["intro"], key), post_template(alex, templates["intro"], key))
    assert sorted([first.status_code, second.status_code]) == [200, 201]
    assert first.json()["id"] == second.json()["id"]
    assert Message.objects.filter(client_id=key).count() == 1 and len(backend.sent) == 1
