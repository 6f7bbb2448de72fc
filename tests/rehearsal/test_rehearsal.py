"""The distributed rehearsal: two web processes, two Celery workers and a beat against one PostgreSQL
and one Redis (and RabbitMQ as the broker in a second variant), with faults mid-run.

Marked `rehearsal`; runs when RAPPORT_REHEARSAL=1 on the services profile (.ci/run), a few minutes
for both variants. `python -m tests.rehearsal` runs it alone. What is held, in order:
1. webhooks posted to web A and web B in parallel are each stored once, and a rep's WebSocket on
   web A hears of the messages that came in through web B;
2. a rep's sends, posted through both webs and sent by both workers, never pass WHATSAPP_MPS in any
   second at the fake Graph API;
3. one worker and web B SIGKILLed mid-burst (webhooks and sends): no HCP message lost or doubled,
   no send POSTed twice, none left behind (Meta's retries go to web A, as a load balancer would);
4. the rehearsal's Redis killed and restarted empty mid-run: webhooks posted meanwhile are stored and
   processed once it is back, and the socket, reconnected, hears of the messages that follow.
A summary line says what was held, with the figures (docs/operations.md).
"""
import os
import re
import shutil
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from django.utils import timezone

from chats.models import Conversation, Message
from tests.factories import AccountFactory, PhoneNumberFactory, ThreadFactory, UserFactory, api_token
from tests.fault.stack import SERVICES, beat_until_settled, celery_broker_use, wait_for
from tests.rehearsal.cluster import Cluster, SocketListener, post_webhook, rabbitmq_available
from tests.whatsapp.conftest import text_body
from tests.whatsapp.fake_graph import most_in_any_window, start_fake_graph

from config.celery import app as celery_app

pytestmark = [
    pytest.mark.rehearsal,
    pytest.mark.skipif(os.environ.get("RAPPORT_REHEARSAL") != "1" or not SERVICES,
                       reason="rehearsal: RAPPORT_REHEARSAL=1 on the services profile (PostgreSQL + Redis)"),
    pytest.mark.django_db(transaction=True),
]
MPS = 4
HCPS = 12


@pytest.fixture
def world():
    rep = UserFactory(username="rehearsal.rep")
    number = PhoneNumberFactory(reps=[rep])
    now, threads = timezone.now(), []
    for _ in range(HCPS):
        hcp = AccountFactory(team=[rep])
        Conversation.objects.create(phone_number=number, account=hcp, owner=rep, last_inbound_at=now,
                                    window_expires_at=now + timedelta(hours=24))
        threads.append(ThreadFactory(user=rep, account=hcp, phone_number=number))
    return rep, number, threads, api_token(rep)


@pytest.fixture
def cluster(request, settings):
    broker = request.param
    if broker == "rabbitmq" and not rabbitmq_available():
        pytest.skip("RabbitMQ does not answer on 127.0.0.1:5672 (or its vhost could not be made)")
    fake, server = start_fake_graph()
    settings.WHATSAPP_APP_SECRET = "rehearsal-app-secret"
    shared_broker = celery_app.conf.broker_url
    logs = Path(f"/tmp/rapport-rehearsal/{broker}")  # kept after the run: each process's log
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True)
    nodes = Cluster(tmp=logs, graph_url=fake.url, broker=broker, mps=MPS)
    try:
        celery_broker_use(nodes.env["CELERY_BROKER_URL"])  # this process plays the beat's safety nets fast
        celery_app.conf.task_always_eager = False
        nodes.start_web("A"), nodes.start_web("B")
        nodes.start_worker(), nodes.start_worker()
        nodes.start_beat()
        yield nodes, fake
    finally:
        nodes.stop()
        server.shutdown()
        server.server_close()
        celery_broker_use(shared_broker)


def _bodies(number, threads, prefix: str, count: int) -> dict[str, bytes]:
    now = int(time.time())
    return {f"wamid.RH.{prefix}.{i}": text_body(number=number, account=threads[i % len(threads)].account,
                                                 wamid=f"wamid.RH.{prefix}.{i}", ts=now - count + i, text=f"{prefix} {i}")
            for i in range(count)}


def _send(nodes, web: str, token: str, thread, text: str) -> int:
    response = httpx.post(nodes.url(web, f"/api/v1/threads/{thread.pk}/messages/"), timeout=10,
                          headers={"Authorization": f"Token {token}"},
                          json={"kind": "text", "text": text, "client_id": str(uuid.uuid4())})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _stored_once(wamids) -> tuple[int, int]:
    """(lost, doubled) among these HCP messages."""
    counts = {w: 0 for w in wamids}
    for wamid in Message.objects.filter(wamid__in=list(wamids)).values_list("wamid", flat=True):
        counts[wamid] += 1
    return sum(1 for c in counts.values() if c == 0), sum(c - 1 for c in counts.values() if c > 1)


def _posts(fake) -> dict[int, int]:
    counts: dict[int, int] = {}
    for request in fake.messages_posted():
        pk = int(request.json["biz_opaque_callback_data"].rsplit(":", 1)[1])
        counts[pk] = counts.get(pk, 0) + 1
    return counts


@pytest.mark.parametrize("cluster", ["redis", "rabbitmq"], indirect=True)
def test_two_webs_two_workers_and_a_beat_hold_through_kills_and_a_redis_restart(cluster, world):
    nodes, fake = cluster
    _rep, number, threads, token = world
    started, held = time.monotonic(), []
    socket = SocketListener(nodes.url("A", "/ws/chat/").replace("http", "ws"), token)
    try:
        # 1. webhooks to web A and web B in parallel; the socket on A hears of B's messages
        bodies = _bodies(number, threads, "PAR", 40)
        routes = {wamid: ("A" if i % 2 else "B") for i, wamid in enumerate(bodies)}
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda w: post_webhook(nodes.url(routes[w], "/webhooks/whatsapp/"), bodies[w]), bodies))
        through_b = {w for w, web in routes.items() if web == "B"}
        wait_for(lambda: through_b <= set(socket.wamids), 60, "web A's socket to hear of web B's messages")
        wait_for(lambda: _stored_once(bodies) == (0, 0), 60, "every parallel webhook stored")
        held.append(f"parallel webhooks {len(bodies)}/{len(bodies)} stored once, "
                    f"{len(through_b)}/{len(through_b)} of web B's heard on web A's socket")

        # 2. sends through both webs, sent by both workers, at most MPS a second per number
        sends = [_send(nodes, "AB"[i % 2], token, threads[i % HCPS], f"send {i}") for i in range(6 * MPS)]
        wait_for(lambda: len(_posts(fake)) == len(sends), 60, "every send to reach Graph")
        most = most_in_any_window([r.at for r in fake.messages_posted()])
        per_worker = [len(re.findall(r"send_message_task\[[^\]]+\] received", w.log_text())) for w in nodes.workers]
        assert most <= MPS and _posts(fake) == {pk: 1 for pk in sends}, (most, _posts(fake))
        assert all(per_worker), per_worker  # both workers sent
        held.append(f"{len(sends)} sends at most {most} a second (WHATSAPP_MPS {MPS}), "
                    f"send tasks run by worker 1 / 2: {' / '.join(map(str, per_worker))} (a rate-limited send runs again)")

        # 3. a worker and web B SIGKILLed mid-burst; Meta's retries and the rest go to web A
        burst = _bodies(number, threads, "KILL", 60)
        burst_sends = []
        for i, (wamid, body) in enumerate(burst.items()):
            web = "B" if i % 2 and nodes.webs["B"][0].proc.poll() is None else "A"
            try:
                post_webhook(nodes.url(web, "/webhooks/whatsapp/"), body, tries=1)
            except AssertionError:
                post_webhook(nodes.url("A", "/webhooks/whatsapp/"), body)
            if i % 5 == 0:
                burst_sends.append(_send(nodes, "A", token, threads[i % HCPS], f"burst {i}"))
            if i == 20:
                nodes.workers[0].kill()
                nodes.webs["B"][0].kill()
        beat_until_settled(90)
        lost, doubled = _stored_once(burst)
        posts = _posts(fake)
        unsent = Message.objects.filter(pk__in=burst_sends).exclude(status__in=["sent", "delivered", "read"])
        unknown = unsent.filter(status="failed", failure_code="timeout_unknown").count()
        assert (lost, doubled) == (0, 0) and all(posts.get(pk, 0) <= 1 for pk in burst_sends), (lost, doubled, posts)
        assert unsent.count() == unknown, list(unsent.values("pk", "status", "failure_code"))
        held.append(f"worker and web B SIGKILLed mid-burst: {len(burst)} webhooks lost {lost} doubled {doubled}, "
                    f"{len(burst_sends)} sends POSTed at most once ({unknown} in flight marked timeout_unknown)")

        # 4. Redis killed and restarted empty mid-run; the socket reconnects and hears what follows
        during, after = _bodies(number, threads, "DOWN", 10), _bodies(number, threads, "BACK", 10)
        nodes.redis.kill()
        for body in during.values():
            post_webhook(nodes.url("A", "/webhooks/whatsapp/"), body)  # stored in PostgreSQL: 200 without Redis
        nodes.redis.start()
        time.sleep(2)  # a worker that holds unacknowledged tasks may exit on the lost broker (docs/operations.md)
        restarted = nodes.restart_exited_workers()
        socket.reconnect()
        for body in after.values():
            post_webhook(nodes.url("A", "/webhooks/whatsapp/"), body)
        beat_until_settled(90)
        wait_for(lambda: set(after) <= set(socket.wamids), 60, "the reconnected socket to hear of new messages")
        lost, doubled = _stored_once({**during, **after})
        assert (lost, doubled) == (0, 0), (lost, doubled)
        held.append(f"Redis restarted: {len(during) + len(after)} webhooks lost {lost} doubled {doubled}, "
                    f"{len(after)}/{len(after)} heard after the socket reconnected, "
                    f"{restarted} worker(s) that exited on the lost broker restarted by the supervisor")
    finally:
        socket.close()
    print(f"\nrehearsal held ({nodes.broker} broker, {time.monotonic() - started:.0f} s): " + "; ".join(held))
