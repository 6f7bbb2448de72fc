"""Streaming keeps memory flat: the peak while consuming an export does not grow with the HCP's history."""
import tracemalloc

import pytest
from django.contrib.auth.models import Permission

from chats.models import Message
from tests.api.conftest import api_client
from tests.factories import AccountFactory, PhoneNumberFactory, ThreadFactory, UserFactory

pytestmark = pytest.mark.django_db

BODY = "Thanks for your time today, doctor; here is the summary of the study we discussed. " * 2


def add_messages(thread, count: int):
    Message.objects.bulk_create(
        [Message(thread=thread, account=thread.account, phone_number=thread.phone_number, sender=thread.user,
                 direction="outbound", kind="text", body=f"{i} {BODY}", status="delivered") for i in range(count)],
        batch_size=2000,
    )


def export_peak(client, account, fmt) -> tuple[int, int]:
    """(peak bytes allocated while streaming, bytes streamed)."""
    response = client.get(f"/api/v1/accounts/{account.pk}/history/?format={fmt}")
    assert response.status_code == 200
    size = 0
    tracemalloc.start()
    try:
        for chunk in response.streaming_content:
            size += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, size


@pytest.mark.parametrize("chunk_size", [500])
def test_streaming_memory_does_not_grow_with_history(chunk_size, monkeypatch, capsys):
    # given: two HCPs, one with 2,000 messages and one with ten times as many
    monkeypatch.setattr("chats.compliance.history.CHUNK_SIZE", chunk_size)
    staff = UserFactory(username="auditor", is_staff=True, licensed=False)
    staff.user_permissions.add(Permission.objects.get(codename="view_account", content_type__app_label="chats"))
    number = PhoneNumberFactory()
    small, large = AccountFactory(), AccountFactory()
    add_messages(ThreadFactory(account=small, phone_number=number), 2_000)
    add_messages(ThreadFactory(account=large, phone_number=number), 20_000)
    client = api_client(staff)
    export_peak(client, small, "csv")  # warm-up: first-use imports and caches are not the export's memory
    for fmt in ("csv", "json"):
        # when: both are exported and the streamed responses consumed
        peak_small, size_small = export_peak(client, small, fmt)
        peak_large, size_large = export_peak(client, large, fmt)
        with capsys.disabled():
            print(f"\n[{fmt}, chunk {chunk_size}] 2,000 messages: peak {peak_small / 1024:.0f} KiB for "
                  f"{size_small / 1024:.0f} KiB streamed; 20,000 messages: peak {peak_large / 1024:.0f} KiB "
                  f"for {size_large / 1024:.0f} KiB streamed")
        # then: ten times the rows, not ten times the memory: at most a chunk or two of rows is ever held
        assert size_large > 9 * size_small
        assert peak_large < 2 * peak_small + 512 * 1024
        if chunk_size == 500:  # both exports span many chunks: the peak is the same, and below the output
            assert peak_large < 1.25 * peak_small + 256 * 1024
            # and well below the output (holding the export would be at least its size); not
            # a tighter fraction: ids above 256 are new int objects, so the peak rises with the
            # database's id sequences (about 0.35x of the output at small ids, 0.52x at 5,000)
            assert peak_large < size_large * 3 / 4
