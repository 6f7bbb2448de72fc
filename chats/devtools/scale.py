"""A synthetic data set at production scale, for the query benchmarks (docs/performance.md, "Data generator").

`generate_scale_data(accounts=100_000, messages=1_000_000, reps=200)` builds, in minutes:
- `reps` licensed users (`scale.rep0001`...); 40 % of them share a number two by two,
  the others have a number of their own;
- `accounts` HCPs (+1999...), each on the team of one rep, 30 % also on the team of
  the rep who shares that rep's number, 10 % also on a random rep's team;
  consent 70 % opted in, 10 % opted out, the rest not captured;
- one thread per 20 messages, spread over the reps' team accounts, with a skewed
  (Pareto) number of messages per thread, times over the last 180 days;
- messages 40 % inbound (received), outbound read / delivered / sent / failed, with
  wamids, and a conversation row per (number, HCP) with its last inbound time;
- the admin dashboard's daily rollup of every day up to yesterday (on reuse: of the
  days not rolled up yet), as the beat would leave it.

Every generated row is recognisable by a prefix, so the generator can tell generated
data from real data and refuses to write next to real data unless forced. On
PostgreSQL the messages go in with COPY; elsewhere with bulk_create in batches.
"""
from __future__ import annotations

import json
import math
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone as dt_timezone

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction

from chats.compliance.rollup import dashboard_rollup_refresh, every_past_day, rolled_up_days
from chats.conversations.policy import window_expiry
from chats.models import (
    Account, Conversation, DailyMessageRollup, Message, PhoneAssignment, PhoneNumber, RolledUpDay, Thread, UserProfile,
    WhatsAppBusinessAccount,
)
from consent.models import ConsentChannel, ConsentRecord, ConsentStatus

USER_PREFIX = "scale.rep"
ACCOUNT_PREFIX = "+1999"
WAMID_PREFIX = "wamid.SCALE."
WABA_ID = "999000000000001"
PASSWORD = "rapport-scale"
MESSAGES_PER_THREAD = 20
BATCH = 5000
WORDS = ("thanks doctor the study results are attached please let me know when you have a minute to discuss "
         "dosing samples meeting next week appointment follow up clinic patients trial data question").split()


class ScaleDataRefused(Exception):
    """The database holds data the generator did not make."""


@dataclass
class ScaleReport:
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    reused: bool = False

    def lines(self) -> list[str]:
        return [f"{name}: {n:,}" for name, n in self.counts.items()]


def foreign_data_present() -> bool:
    """True when users, accounts or messages exist that the generator did not make."""
    User = get_user_model()
    return (
        User.objects.exclude(username__startswith=USER_PREFIX).exists()
        or Account.objects.exclude(whatsapp_number__startswith=ACCOUNT_PREFIX).exists()
        or Message.objects.exclude(wamid__startswith=WAMID_PREFIX).exists()
    )


def generated_counts() -> dict[str, int]:
    return {
        "reps": get_user_model().objects.filter(username__startswith=USER_PREFIX).count(),
        "accounts": Account.objects.filter(whatsapp_number__startswith=ACCOUNT_PREFIX).count(),
        "messages": Message.objects.filter(wamid__startswith=WAMID_PREFIX).count(),
    }


def rep_username(index: int) -> str:
    return f"{USER_PREFIX}{index + 1:04d}"


def generate_scale_data(*, accounts: int, messages: int, reps: int, seed: int = 7, force: bool = False,
                        reset: bool = False, log=print) -> ScaleReport:
    """Build the data set, or reuse it when the generated rows already have these sizes."""
    if reps < 1 or accounts < reps or messages < 1:
        raise ValueError("need at least one rep, at least as many accounts as reps, and at least one message")
    if foreign_data_present() and not force:
        raise ScaleDataRefused("this database holds data the generator did not make; use a dedicated database "
                               "(or --force to add generated rows next to it)")
    report = ScaleReport()
    wanted = {"reps": reps, "accounts": accounts, "messages": messages}
    have = generated_counts()
    if have == wanted and not reset:
        report.counts, report.reused = have, True
        _timed(report, "dashboard rollup of days not rolled up yet", lambda: _dashboard_rollup(every_day=False),
               log)
        return report
    if any(have.values()):
        _timed(report, "delete previous generated data", _delete_generated, log)
    rng = random.Random(seed)
    now = datetime.now(dt_timezone.utc).replace(microsecond=0)
    with transaction.atomic():
        users, numbers_of = _timed(report, "reps and numbers", lambda: _reps_and_numbers(reps, rng), log)
        account_ids, teams = _timed(report, "accounts, teams, consent",
                                    lambda: _accounts(accounts, users, numbers_of, rng, now), log)
        threads = _timed(report, "threads and conversations",
                         lambda: _threads(messages, users, numbers_of, teams, rng, now), log)
        written = _timed(report, "messages", lambda: _messages(messages, threads, rng), log)
    if connection.vendor == "postgresql":
        _timed(report, "vacuum and analyze", _vacuum_analyze, log)
    rollup = _timed(report, "dashboard rollup", lambda: _dashboard_rollup(every_day=True), log)
    report.counts = {"reps": len(users), "accounts": len(account_ids), "threads": len(threads), "messages": written,
                     "rolled-up days": rollup["days"]}
    return report


def _vacuum_analyze() -> None:
    """Leave the tables as autovacuum keeps a live database: statistics, and a visibility map.

    Rows just written with COPY are not marked all-visible until a VACUUM, so every index-only
    scan would still read the table; a bench on such tables measures a state production does
    not stay in. VACUUM cannot run inside a transaction (a test's): there, statistics only.
    """
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)")


def _dashboard_rollup(*, every_day: bool) -> dict:
    """The admin dashboard's daily rollup of every past day (docs/compliance.md), or of the days not rolled up yet."""
    days = every_past_day()
    if not every_day and days:
        days = sorted(set(days) - rolled_up_days(since=days[0], until=days[-1]))
    result = dashboard_rollup_refresh(days=days)
    if connection.vendor == "postgresql":
        connection.cursor().execute(f"ANALYZE {DailyMessageRollup._meta.db_table}, {RolledUpDay._meta.db_table}")
    return result


def _timed(report: ScaleReport, step: str, fn, log):
    start = time.perf_counter()
    result = fn()
    report.seconds[step] = time.perf_counter() - start
    log(f"  {step}: {report.seconds[step]:.1f} s")
    return result


def _delete_generated() -> None:
    User = get_user_model()
    users = User.objects.filter(username__startswith=USER_PREFIX)
    accounts = Account.objects.filter(whatsapp_number__startswith=ACCOUNT_PREFIX)
    Message.objects.filter(wamid__startswith=WAMID_PREFIX)._raw_delete(Message.objects.db)
    Conversation.objects.filter(account__in=accounts).delete()
    Thread.objects.filter(user__in=users).delete()
    ConsentRecord.objects.filter(account__in=accounts).delete()
    Account.team.through.objects.filter(account__in=accounts).delete()
    accounts._raw_delete(Account.objects.db)
    PhoneAssignment.objects.filter(user__in=users).delete()
    PhoneNumber.objects.filter(waba__waba_id=WABA_ID).delete()
    WhatsAppBusinessAccount.objects.filter(waba_id=WABA_ID).delete()
    users.delete()


def _reps_and_numbers(reps: int, rng: random.Random):
    """Users with the license; the first 40 % share a number two by two."""
    User = get_user_model()
    password = make_password(PASSWORD)
    users = User.objects.bulk_create(
        [User(username=rep_username(i), first_name="Rep", last_name=f"{i + 1:04d}", password=password) for i in range(reps)]
    )
    UserProfile.objects.bulk_create([UserProfile(user=u, has_engage_license=True) for u in users])
    waba = WhatsAppBusinessAccount.objects.create(waba_id=WABA_ID, name="Scale WABA")
    shared = int(reps * 0.4) // 2 * 2
    owners = [[i, i + 1] for i in range(0, shared, 2)] + [[i] for i in range(shared, reps)]
    numbers = PhoneNumber.objects.bulk_create([
        PhoneNumber(phone_number_id=f"99{n:013d}", display_phone_number=f"+1 999 555 {n:04d}", waba=waba,
                    verified_name="Scale Pharma") for n in range(len(owners))
    ])
    numbers_of: dict[int, PhoneNumber] = {}
    for number, group in zip(numbers, owners):
        for i in group:
            numbers_of[i] = number
    PhoneAssignment.objects.bulk_create([PhoneAssignment(user=users[i], phone_number=n) for i, n in numbers_of.items()])
    return users, numbers_of


def _partner(i: int, numbers_of: dict[int, PhoneNumber]) -> int | None:
    for j in (i - 1, i + 1):
        if j in numbers_of and numbers_of[j].pk == numbers_of[i].pk:
            return j
    return None


def _accounts(count: int, users, numbers_of, rng: random.Random, now: datetime):
    firsts = ["Ada", "Grace", "Marie", "Alan", "Rosalind", "Lise", "Emmy", "Carl", "Niels", "Dorothy", "Barbara", "Max"]
    lasts = ["Lovelace", "Hopper", "Curie", "Turing", "Franklin", "Meitner", "Noether", "Gauss", "Bohr", "Hodgkin"]
    specialties = ["Cardiology", "Oncology", "Endocrinology", "General practice", "Neurology", "Dermatology"]
    languages = ["en"] * 8 + ["fr", "pt_BR"]
    ids: list[int] = []
    teams: dict[int, list[int]] = {i: [] for i in range(len(users))}
    through = Account.team.through
    for start in range(0, count, BATCH):
        batch = [
            Account(name=f"Dr. {rng.choice(firsts)} {rng.choice(lasts)} {n:06d}", specialty=rng.choice(specialties),
                    whatsapp_number=f"{ACCOUNT_PREFIX}{n:07d}", language=rng.choice(languages))
            for n in range(start, min(count, start + BATCH))
        ]
        created = Account.objects.bulk_create(batch)
        rows, consents = [], []
        for offset, account in enumerate(created):
            n = start + offset
            members = {n % len(users)}
            if rng.random() < 0.3 and (p := _partner(n % len(users), numbers_of)) is not None:
                members.add(p)
            if rng.random() < 0.1:
                members.add(rng.randrange(len(users)))
            for i in members:
                rows.append(through(account_id=account.pk, user_id=users[i].pk))
                teams[i].append(account.pk)
            roll = rng.random()
            if roll < 0.8:
                consents.append(ConsentRecord(
                    account=account, status=ConsentStatus.OPTED_IN if roll < 0.7 else ConsentStatus.OPTED_OUT,
                    captured_via=ConsentChannel.IMPORT, captured_at=now - timedelta(days=rng.randint(1, 400))))
            ids.append(account.pk)
        through.objects.bulk_create(rows, batch_size=BATCH)
        ConsentRecord.objects.bulk_create(consents, batch_size=BATCH)
    return ids, teams


def _threads(messages: int, users, numbers_of, teams, rng: random.Random, now: datetime):
    """Threads with their planned message count and times; conversations per (number, HCP)."""
    wanted = max(1, min(math.ceil(messages / MESSAGES_PER_THREAD), sum(len(t) for t in teams.values())))
    per_rep = [wanted // len(users) + (1 if i < wanted % len(users) else 0) for i in range(len(users))]
    specs = []
    for i, user in enumerate(users):
        for account_id in rng.sample(teams[i], min(per_rep[i], len(teams[i]))):
            specs.append((user, account_id, numbers_of[i]))
    weights = [rng.paretovariate(1.3) for _ in specs]
    total = sum(weights)
    counts = [max(1, int(messages * w / total)) for w in weights]
    diff = messages - sum(counts)
    idx = 0
    while diff != 0:  # spread the rounding error so the total is exact
        j = idx % len(counts)
        if diff > 0:
            counts[j] += 1
            diff -= 1
        elif counts[j] > 1:
            counts[j] -= 1
            diff += 1
        idx += 1
    planned = []
    objects = []
    for (user, account_id, number), n in zip(specs, counts):
        last = now - timedelta(seconds=rng.randint(60, 180 * 86400) * rng.random() ** 3)
        objects.append(Thread(user=user, account_id=account_id, phone_number=number, last_activity_at=last,
                              last_read_at=last - timedelta(minutes=rng.randint(0, 600))))
        planned.append((n, last))
    created = Thread.objects.bulk_create(objects, batch_size=BATCH)
    conversations = {}
    for thread, (_, last) in zip(created, planned):
        key = (thread.phone_number_id, thread.account_id)
        if key not in conversations or conversations[key].last_inbound_at < last:
            conversations[key] = Conversation(phone_number_id=key[0], account_id=key[1], owner_id=thread.user_id,
                                              last_inbound_at=last, window_expires_at=window_expiry(last))
    Conversation.objects.bulk_create(conversations.values(), batch_size=BATCH)
    return [(t, n, last) for t, (n, last) in zip(created, planned)]


def _message_rows(threads, rng: random.Random):
    """Yield one tuple per message, in COPY column order (see _COLUMNS)."""
    serial = 0
    for thread, n, last in threads:
        step = timedelta(minutes=rng.randint(2, 240))
        at = last - step * (n - 1)
        for k in range(n):
            serial += 1
            inbound = k == n - 1 or rng.random() < 0.4  # the last message is the HCP's: it set the activity time
            body = " ".join(rng.choices(WORDS, k=rng.randint(4, 24)))
            if inbound:
                status, kind, sender = "received", "text", None
                times = (None, None, None, None)
            else:
                roll = rng.random()
                status = "read" if roll < 0.6 else "delivered" if roll < 0.85 else "sent" if roll < 0.95 else "failed"
                kind, sender = ("template" if rng.random() < 0.15 else "text"), thread.user_id
                times = (at, at if status in ("delivered", "read") else None, at if status == "read" else None,
                         at if status == "failed" else None)
            yield (thread.pk, thread.phone_number_id, thread.account_id, "inbound" if inbound else "outbound", kind,
                   body, f"{WAMID_PREFIX}{serial}", "text", at if inbound else None, status, *times,
                   "meta_error" if status == "failed" else "", 0 if inbound else 1, sender, at)
            at += step


_COLUMNS = ("thread_id", "phone_number_id", "account_id", "direction", "kind", "body", "wamid", "wa_type",
            "wa_timestamp", "status", "sent_at", "delivered_at", "read_at", "failed_at", "failure_code",
            "send_attempts", "sender_id", "created_at")


def _constants() -> dict[str, str]:
    """The NOT NULL columns the rows above leave to their defaults, read from the model so a new
    column never breaks the COPY (JSON defaults as JSON text)."""
    constants = {}
    for model_field in Message._meta.concrete_fields:
        if model_field.null or model_field.primary_key or model_field.column in _COLUMNS:
            continue
        if not model_field.has_default() and not model_field.empty_strings_allowed:
            raise ImproperlyConfigured(f"chats_message.{model_field.column} needs a value in the scale generator")
        default = model_field.get_default()  # "" for text columns without a default of their own
        constants[model_field.column] = json.dumps(default) if isinstance(default, (dict, list)) else str(default)
    return constants


_CONSTANTS = _constants()


def _messages(total: int, threads, rng: random.Random) -> int:
    rows = _message_rows(threads, rng)
    written = 0
    if connection.vendor == "postgresql":
        columns = ", ".join(_COLUMNS + tuple(_CONSTANTS))
        constants = tuple(_CONSTANTS.values())
        with connection.cursor() as cursor, cursor.cursor.copy(f"COPY chats_message ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row + constants)
                written += 1
        return written
    batch = []
    for row in rows:
        values = dict(zip(_COLUMNS, row))
        batch.append(Message(**values))
        if len(batch) >= BATCH:
            written += len(Message.objects.bulk_create(batch))
            batch = []
    if batch:
        written += len(Message.objects.bulk_create(batch))
    return written
