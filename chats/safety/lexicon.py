"""The safety lexicon: which words of an HCP's message may report an adverse event, and which products it names.

Terms are matched by the restricted-phrase machinery (chats/conversations/phrases.py): the same match types,
the same normalisation (NFKC, case folding, look-alike characters, invisible characters, spacing and letters
spelled out one by one), one compiled automaton per process. Every message is checked against every
language's terms: an HCP does not always write in the language Rapport knows them by.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models.signals import post_delete, post_save

from chats.conversations.phrases import MatcherCache, PhraseMatcher
from chats.models import Message, SafetyTerm

# An admin's change reaches other processes within this many seconds (this one's at once, by the signals
# below); between, the drain checks messages without a query.
LEXICON_TTL_SECONDS = 10.0
# A filename or location name is checked with the text; beyond this many characters the rest is not read.
MAX_CHECKED_CHARS = 16_384


@dataclass(frozen=True)
class SafetyHits:
    terms: list[dict]  # each {phrase, language, match_type, start, end, text}
    products: list[str]  # product names as the lexicon spells them, in order of first mention

    def __bool__(self) -> bool:
        return bool(self.terms)


def _version() -> tuple:
    table = connection.ops.quote_name(SafetyTerm._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*), MAX(id), MAX(updated_at) FROM {table}")
        return tuple(cursor.fetchone())


def _build() -> PhraseMatcher:
    # The matcher's `rule` names where a phrase comes from: here its kind and language ("term:fr").
    rows = SafetyTerm.objects.filter(is_active=True).values_list("phrase", "match_type", "kind", "language")
    return PhraseMatcher([(phrase, match_type, f"{kind}:{language}", None, None)
                          for phrase, match_type, kind, language in rows])


_lexicon = MatcherCache(version=_version, build=_build, ttl=LEXICON_TTL_SECONDS)
clear_lexicon_cache = _lexicon.clear
for _signal in (post_save, post_delete):
    _signal.connect(_lexicon.clear, sender=SafetyTerm, weak=False, dispatch_uid=f"safety-lexicon-{_signal}")


def safety_text_of(message: Message) -> str:
    """Everything an HCP wrote in a message: its text (a caption, an interactive reply's title, a location's
    name and address, contact cards, as the parser made them readable) and a document's file name."""
    parts = [message.body or ""]
    media = message.media or {}
    for key in ("filename", "name", "address"):
        value = media.get(key)
        if isinstance(value, str) and value and value not in parts[0]:
            parts.append(value)
    return "\n".join(parts)[:MAX_CHECKED_CHARS]


def safety_check(*, text: str, now) -> SafetyHits:
    """The safety terms and product names in `text`."""
    terms, products = [], []
    for match in _lexicon.get().find(text, now=now):
        kind, _, language = match.rule.partition(":")
        if kind == SafetyTerm.Kind.PRODUCT:
            if match.phrase not in products:
                products.append(match.phrase)
        else:
            terms.append({"phrase": match.phrase, "language": language, "match_type": match.match_type,
                          "start": match.start, "end": match.end, "text": text[match.start:match.end]})
    return SafetyHits(terms=terms, products=products)
