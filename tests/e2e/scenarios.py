"""Extra browser-test states on top of seed_demo, written once into the seeded database.

Each uses generated demo HCPs that the flow tests never touch, so the tests stay order-free:
- Alex ↔ Dr. Amara Abbott: 250 messages and an open window (paging, composer);
- Blair ↔ Dr. Amara Abbott on the same shared number: locked by Alex, with shared history;
- Alex ↔ Dr. Chloé Castillo (consent not captured), Dr. Jonas Jensen (opted out),
  Dr. Bruno Bernard (window expired 6 hours ago), Dr. Elena Eriksen (expiring in 4 hours);
- Alex ↔ Dr. Greta Garnier: an open window, for an HCP message that Meta delivers late;
- Alex ↔ Dr. Hiro Haddad: an open window, messages Meta knows (wamids), a shared location and a
  contact card, for reactions both ways;
- Alex ↔ Dr. Maya Moreau and Dr. Noah Nakamura: expiring in 4 hours, for the chat in French and in
  English (a banner, bubbles and the chat list telling the same times);
- Alex ↔ Dr. Quinn Quiroga (English: a closing template) and Dr. Daniel Dubois (French: none): an open
  window and 40 messages each, for End Conversation on a scrolled thread;
- Blair ↔ Dr. Kavya Kowalski on the shared number: Alex's unanswered template (pending) and Alex's
  history (shared history), with the quick templates: the most a phone's thread has to show at once.

Run as `manage.py shell -c "from tests.e2e.scenarios import run; run()"` (see conftest.seeded_db).
"""
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from chats.models import Account, Conversation, Message, PhoneNumber, Thread

LONG_THREAD = ("rep.alex", "Dr. Amara Abbott", 250)
SHARED = "100000000000001"
LATE_THREAD = "Dr. Greta Garnier"
REACTION_THREAD = "Dr. Hiro Haddad"
REACTION_TARGET = "wamid.e2e.reaction.outbound"  # Alex's message that Hiro reacts to
LANGUAGE_THREADS = {"fr": "Dr. Maya Moreau", "en": "Dr. Noah Nakamura"}
END_THREADS = ("Dr. Quinn Quiroga", "Dr. Daniel Dubois")  # with and without a closing template
PENDING_THREAD = "Dr. Kavya Kowalski"


def _thread(user, account, number, at) -> Thread:
    thread, _ = Thread.objects.get_or_create(user=user, account=account, phone_number=number)
    Thread.objects.filter(pk=thread.pk).update(last_activity_at=at, last_read_at=at)
    return thread


def _messages(thread, rows) -> None:
    """rows: (direction, body, created_at); created_at is auto_now_add, so it is set after the insert."""
    made = Message.objects.bulk_create([
        Message(thread=thread, phone_number=thread.phone_number, account=thread.account, direction=direction,
                body=body, status="received" if direction == "inbound" else "read",
                sender=thread.user if direction == "outbound" else None)
        for direction, body, _ in rows
    ])
    for message, (_, _, at) in zip(made, rows):
        Message.objects.filter(pk=message.pk).update(created_at=at)


@transaction.atomic
def run() -> None:
    users = {u.username: u for u in get_user_model().objects.filter(username__in=["rep.alex", "rep.blair"])}
    alex, blair = users["rep.alex"], users["rep.blair"]
    shared = PhoneNumber.objects.get(phone_number_id=SHARED)
    account = Account.objects.get
    now = timezone.now()

    # the long thread: 250 messages a minute apart, the last HCP message 10 minutes ago
    amara = account(name=LONG_THREAD[1])
    long_thread = _thread(alex, amara, shared, now - timedelta(minutes=5))
    count = LONG_THREAD[2]
    start = now - timedelta(minutes=count + 5)
    _messages(long_thread, [
        ("inbound" if i % 2 else "outbound", f"Long thread message {i + 1:03d}", start + timedelta(minutes=i))
        for i in range(count)
    ])
    Conversation.objects.update_or_create(phone_number=shared, account=amara, defaults={
        "owner": alex, "last_inbound_at": start + timedelta(minutes=count - 1),
        "window_expires_at": start + timedelta(minutes=count - 1, hours=24)})
    # Blair, on the same number, is locked out while Alex holds the window
    _thread(blair, amara, shared, now - timedelta(minutes=30))

    # consent required, opted out
    for name in ("Dr. Chloé Castillo", "Dr. Jonas Jensen"):
        _thread(alex, account(name=name), shared, now - timedelta(hours=2))

    # expired (HCP wrote 30 hours ago) and expiring (20 hours ago)
    for name, hours in (("Dr. Bruno Bernard", 30), ("Dr. Elena Eriksen", 20),
                        *((name, 20) for name in LANGUAGE_THREADS.values())):
        hcp = account(name=name)
        thread = _thread(alex, hcp, shared, now - timedelta(hours=hours))
        inbound_at = now - timedelta(hours=hours)
        _messages(thread, [("outbound", "Would you like the new study results?", inbound_at - timedelta(minutes=5)),
                           ("inbound", "Yes, please send them.", inbound_at)])
        Conversation.objects.update_or_create(phone_number=shared, account=hcp, defaults={
            "owner": alex, "last_inbound_at": inbound_at, "window_expires_at": inbound_at + timedelta(hours=24)})

    # open (HCP wrote 8 minutes ago): the late message's thread
    greta = account(name=LATE_THREAD)
    thread = _thread(alex, greta, shared, now - timedelta(minutes=8))
    _messages(thread, [("outbound", "Shall I send the study?", now - timedelta(minutes=10)),
                       ("inbound", "Yes, please.", now - timedelta(minutes=8))])
    Conversation.objects.update_or_create(phone_number=shared, account=greta, defaults={
        "owner": alex, "last_inbound_at": now - timedelta(minutes=8),
        "window_expires_at": now - timedelta(minutes=8) + timedelta(hours=24)})

    # reactions: Alex's message and Hiro's answers carry WhatsApp ids, as sent and received messages do
    hiro = account(name=REACTION_THREAD)
    thread = _thread(alex, hiro, shared, now - timedelta(minutes=3))
    rows = [
        ("outbound", "text", "Shall we meet at the clinic on Tuesday?", REACTION_TARGET, {}, 9),
        ("inbound", "text", "Yes, Tuesday at 10 works.", "wamid.e2e.reaction.inbound", {}, 6),
        ("inbound", "location", "📍 Clinique Saint-Jean, 12 Rue de la Paix, Paris", "wamid.e2e.reaction.location",
         {"type": "location", "name": "Clinique Saint-Jean", "address": "12 Rue de la Paix, Paris",
          "latitude": 48.8693, "longitude": 2.3316, "map_url": "https://www.google.com/maps?q=48.8693,2.3316"}, 5),
        ("inbound", "contacts", "👤 contact card\nDr. Omar Farouk · Cardiology · +44 7700 900456",
         "wamid.e2e.reaction.contacts",
         {"type": "contacts", "contacts": [{"name": "Dr. Omar Farouk", "org": "Cardiology",
                                            "phones": [{"phone": "+44 7700 900456", "type": "CELL", "wa_id": ""}],
                                            "emails": [{"email": "omar@example.org", "type": "WORK"}], "urls": []}]},
         4),
    ]
    for direction, kind, body, wamid, media, minutes_ago in rows:
        at = now - timedelta(minutes=minutes_ago)
        message = Message.objects.create(
            thread=thread, phone_number=shared, account=hiro, direction=direction, kind=kind, body=body, wamid=wamid,
            media=media, status="received" if direction == "inbound" else "read",
            sender=alex if direction == "outbound" else None, wa_timestamp=at if direction == "inbound" else None)
        Message.objects.filter(pk=message.pk).update(created_at=at)
    Conversation.objects.update_or_create(phone_number=shared, account=hiro, defaults={
        "owner": alex, "last_inbound_at": now - timedelta(minutes=4),
        "window_expires_at": now - timedelta(minutes=4) + timedelta(hours=24)})

    # End Conversation on threads long enough to scroll (HCP wrote 3 minutes ago): Quinn has a closing
    # template in her language (English), Daniel none (French)
    for name in END_THREADS:
        hcp = account(name=name)
        thread = _thread(alex, hcp, shared, now - timedelta(minutes=2))
        _messages(thread, [("inbound" if i % 2 else "outbound", f"{name} message {i + 1:02d}",
                            now - timedelta(minutes=42 - i)) for i in range(40)])
        Conversation.objects.update_or_create(phone_number=shared, account=hcp, defaults={
            "owner": alex, "last_inbound_at": now - timedelta(minutes=3),
            "window_expires_at": now - timedelta(minutes=3) + timedelta(hours=24)})

    # Alex's template to Kavya is unanswered: Blair, on the same number, sees it pending and Alex's history
    kavya = account(name=PENDING_THREAD)
    thread = _thread(alex, kavya, shared, now - timedelta(hours=1))
    _messages(thread, [("outbound", "Hello, may I send you the new study results?", now - timedelta(hours=1))])
    Conversation.objects.update_or_create(phone_number=shared, account=kavya, defaults={
        "owner": alex, "last_template_by": alex, "last_template_at": now - timedelta(hours=1)})
    _thread(blair, kavya, shared, now - timedelta(hours=3))
