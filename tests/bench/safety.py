"""The safety check beside the restricted-phrase check: 10,000 terms each, the same 4,096-character messages.

Bar (docs/safety.md): checking an HCP's message against the safety lexicon costs no more than checking a
rep's text against the restricted phrases (the same matcher, so p95 within 10 % of it, noise included).
"""
import random
import time

from django.utils import timezone

from chats.conversations import phrases
from chats.models import Message, RestrictedPhrase, RestrictedPhraseRule, SafetyTerm
from chats.safety import lexicon
from tests.bench.phrases import MESSAGES, SEED, _messages, _pcts, _phrases

TOLERANCE = 1.10


def run() -> None:
    rng = random.Random(SEED)
    specs = _phrases(rng)  # the phrase bench's 10,000 of mixed types, for both lexicons
    rules = [RestrictedPhraseRule.objects.create(name=f"Bench rule {i}") for i in range(10)]
    RestrictedPhrase.objects.bulk_create(
        [RestrictedPhrase(rule=rules[i % len(rules)], phrase=p, match_type=k) for i, (p, k) in enumerate(specs)],
        batch_size=1000)
    SafetyTerm.objects.bulk_create(
        [SafetyTerm(kind="product" if i % 50 == 0 else "term", language=("en", "fr", "de")[i % 3], phrase=p,
                    match_type=k) for i, (p, k) in enumerate(specs)], batch_size=1000)
    phrases.clear_matcher_cache()
    lexicon.clear_lexicon_cache()
    messages = _messages(rng, [p for p, k in specs if k != "regex"])
    inbound = [Message(direction="inbound", kind="text", body=text) for text in messages]
    now = timezone.now()
    phrases.check_restricted_phrases(text=messages[0], now=now)  # warm up (build both matchers)
    lexicon.safety_check(text=lexicon.safety_text_of(inbound[0]), now=now)
    restricted, safety, cases = [], [], 0
    for text, message in zip(messages, inbound):
        t0 = time.perf_counter()
        phrases.check_restricted_phrases(text=text, now=now)
        t1 = time.perf_counter()
        hits = lexicon.safety_check(text=lexicon.safety_text_of(message), now=now)
        t2 = time.perf_counter()
        restricted.append((t1 - t0) * 1000)
        safety.append((t2 - t1) * 1000)
        cases += bool(hits)
    p95 = lambda samples: sorted(samples)[int(0.95 * len(samples))]  # noqa: E731
    print(f"{len(specs)} terms and {len(specs)} restricted phrases; {MESSAGES} messages, {cases} would open a case")
    print(f"restricted-phrase check: {_pcts(restricted)}")
    print(f"safety check:            {_pcts(safety)}")
    print(f"bar: safety p95 <= {TOLERANCE:.2f} x restricted p95: "
          f"{'met' if p95(safety) <= TOLERANCE * p95(restricted) else 'NOT met'}")
