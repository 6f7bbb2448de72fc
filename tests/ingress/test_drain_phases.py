"""The bench's instrument of a drain's batch (chats/phases.py): off by default, one line per batch when on."""
import json

import pytest

from chats import phases
from chats.ingress import queue as webhook_queue
from chats.models import Message, WebhookEvent
from tests.factories import AccountFactory
from tests.whatsapp.conftest import text_body

pytestmark = pytest.mark.django_db(transaction=True)


def _drain_two_bodies(number, alex) -> None:
    for i in range(2):
        hcp = AccountFactory(whatsapp_number=f"+44770090020{i}", team=[alex])
        WebhookEvent.objects.create(body=text_body(number=number, account=hcp, wamid=f"wamid.PHASE{i}", ts=1_700_000_000))
    assert webhook_queue.webhook_events_drain(slot=0, holds_slot=False) == 2


def test_with_a_phases_file_each_batch_writes_where_its_time_went(monkeypatch, tmp_path, solo_number, alex):
    path = tmp_path / "phases.jsonl"
    monkeypatch.setattr(phases, "PHASES_FILE", str(path))
    # when a drain processes a batch of two HCP messages
    _drain_two_bodies(solo_number, alex)
    # then one line says how long each phase of that batch took, the commit and the live events' send included
    [line] = [json.loads(text) for text in path.read_text().splitlines()]
    assert line["bodies"] == 2 and Message.objects.filter(wamid__startswith="wamid.PHASE").count() == 2
    assert set(line) == {"bodies", "batch", "claim", "parse", "look-ups and routing", "insert messages", "audit rows",
                         "consent keywords", "windows and threads", "safety check", "event payloads", "change feed",
                         "mark processed", "commit", "channel-layer send"}
    assert all(ms >= 0 for ms in line.values()) and line["batch"] >= line["insert messages"]


def test_without_one_nothing_is_written(tmp_path, solo_number, alex):
    assert phases.PHASES_FILE == ""  # the environment sets it, for a bench's worker only
    phases._state.totals = {}  # what an earlier test on this thread left
    _drain_two_bodies(solo_number, alex)
    assert Message.objects.filter(wamid__startswith="wamid.PHASE").count() == 2
    assert not getattr(phases._state, "totals", None)
