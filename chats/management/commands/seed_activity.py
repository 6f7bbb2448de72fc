"""Demo only: a month of generated message and consent history, so the admin dashboard has something to draw.

Run after seed_demo. Rows are written with their historical timestamps the way
`loaddata` writes fixtures (Model.save_base(raw=True)): append-only consent
events are inserted, never changed. Deterministic (a fixed random seed), and
refuses to run twice unless --force.
"""
import datetime
import random

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from chats.compliance.rollup import dashboard_rollup_refresh, rolled_up_days, utc_today
from chats.models import Account, Message, PhoneNumber, Thread
from consent.models import ConsentEvent
from templates_app.models import MessageTemplate

MARK = "seed_activity"
FAILURES = [("window_closed", "The 24-hour window had closed."), ("opted_out", "The HCP opted out."),
            ("meta_error", "Meta refused the message."), ("rate_limited", "Too many messages to this HCP.")]


def _insert(obj):
    obj.save_base(raw=True)  # keeps the timestamps we set, as loaddata does
    return obj


class Command(BaseCommand):
    help = "Generate a month of demo messages and consent changes for the admin dashboard (demo data only)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--force", action="store_true", help="Add another month even if one was generated.")

    @transaction.atomic
    def handle(self, *args, days, force, **options):
        if Message.objects.filter(media__generated_by=MARK).exists() and not force:
            raise CommandError("Activity was already generated; pass --force to add more.")
        User = get_user_model()
        reps = list(User.objects.filter(username__in=["rep.alex", "rep.blair", "rep.casey"]).order_by("username"))
        if len(reps) < 3:
            raise CommandError("Run seed_demo first.")
        rng = random.Random(20260401)
        templates = list(MessageTemplate.objects.filter(meta_status="APPROVED"))
        accounts = list(Account.objects.order_by("id")[:40])
        threads = []
        for rep in reps:
            number = PhoneNumber.objects.filter(assignments__user=rep).first()
            for account in rng.sample(accounts, 12):
                thread, _ = Thread.objects.get_or_create(user=rep, account=account, phone_number=number)
                threads.append(thread)
        now = timezone.now().replace(second=0, microsecond=0)
        made = 0
        for back in range(days, 0, -1):
            day_start = (now - datetime.timedelta(days=back)).replace(hour=8, minute=0)
            for thread in rng.sample(threads, rng.randint(8, 16)):
                at = day_start + datetime.timedelta(minutes=rng.randint(0, 9 * 60))
                for _ in range(rng.randint(1, 3)):
                    made += self._exchange(rng, thread, at, templates)
                    at += datetime.timedelta(minutes=rng.randint(30, 180))
            for account in rng.sample(accounts, rng.randint(0, 3)):
                status = "opted_out" if rng.random() < 0.3 else "opted_in"
                previous = "opted_in" if status == "opted_out" else rng.choice(["not_captured", "opted_out"])
                _insert(ConsentEvent(account=account, previous_status=previous, status=status,
                                     via=rng.choice(["rep", "keyword"]), details={"generated_by": MARK},
                                     at=day_start + datetime.timedelta(hours=rng.randint(0, 10))))
        # Days the dashboard already reads from its rollup are recomputed with these messages; the others
        # are counted live until the beat rolls them up (docs/compliance.md, the rollup).
        rolled = rolled_up_days(since=(now - datetime.timedelta(days=days)).date(), until=utc_today())
        dashboard_rollup_refresh(days=rolled - {utc_today()})
        self.stdout.write(f"Generated {made} messages over {days} days in {len(threads)} threads.")

    def _exchange(self, rng, thread, at, templates) -> int:
        """One outbound message and, most of the time, the HCP's answer minutes or hours later."""
        template = rng.choice(templates) if templates and rng.random() < 0.4 else None
        roll = rng.random()
        status = "read" if roll < 0.55 else "delivered" if roll < 0.8 else "sent" if roll < 0.92 else "failed"
        failure = rng.choice(FAILURES) if status == "failed" else ("", "")
        _insert(Message(
            thread=thread, account=thread.account, phone_number=thread.phone_number, sender=thread.user,
            direction="outbound", kind="template" if template else "text", template=template,
            body=template.body if template else "Following up on our conversation, doctor.", status=status,
            sent_at=at if status != "failed" else None, delivered_at=at if status in ("delivered", "read") else None,
            read_at=at if status == "read" else None, failed_at=at if status == "failed" else None,
            failure_code=failure[0], failure_reason=failure[1], media={"generated_by": MARK}, created_at=at,
        ))
        if status == "failed" or rng.random() < 0.35:
            return 1
        reply_at = at + datetime.timedelta(minutes=int(rng.expovariate(1 / 45)) + 1)
        _insert(Message(
            thread=thread, account=thread.account, phone_number=thread.phone_number, direction="inbound",
            kind="text", body="Thank you, that is helpful.", status="received", wa_timestamp=reply_at,
            media={"generated_by": MARK}, created_at=reply_at,
        ))
        return 2
