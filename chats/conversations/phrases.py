"""Restricted-phrase matching (docs/rules.md, "Restricted phrases"): one Aho-Corasick automaton for literal
phrases, regexes apart.

Text and phrases are compared after NFKC normalisation, case folding, reduction to what a reader
sees (skeleton.py) and folding each whitespace run to one space; letters spelled out one by one
(`c u r e`) are read together too. Reported offsets point into the text as the rep typed it.
The compiled matcher is cached per process and rebuilt only when the phrase tables change.
"""
from __future__ import annotations

import re
import threading
import time
import unicodedata
from dataclasses import asdict, dataclass
from datetime import datetime

import ahocorasick
from re import _constants as _re_c, _parser as _re_parser
from django.db import connection
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from chats.conversations.phrase_text import NormalizedText, normalize
from chats.errors import RestrictedPhrasesFound
from chats.models import RestrictedPhrase, RestrictedPhraseRule

CONTAINS, EXACT, REGEX = "contains", "exact", "regex"
# Letters spelled out one by one (`c u r e`, `c.u.r.e`, `c - u - r - e`): three or more single
# letters or digits, each apart from the next by one to three spaces or punctuation marks.
_SPREAD = re.compile(r"(?<![^\W_])[^\W_](?:[\W_]{1,3}[^\W_]){2,}(?![^\W_])")
_NOT_ALNUM = re.compile(r"[\W_]+")
SPREAD_MIN_LETTERS = 3


@dataclass(frozen=True, order=True)
class Match:
    start: int
    end: int
    phrase: str
    rule: str
    match_type: str

    def as_dict(self) -> dict:
        return asdict(self)


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


@dataclass(frozen=True)
class _Entry:
    phrase: str
    rule: str
    match_type: str
    active_from: datetime | None
    active_to: datetime | None
    word_start: bool = False  # for exact: the phrase begins with a word character
    word_end: bool = False

    def active(self, now: datetime) -> bool:
        return (self.active_from is None or self.active_from <= now) and (self.active_to is None or now < self.active_to)


def _required_literals(pattern: str) -> set[str] | None:
    """Literals of which every match of `pattern` contains at least one, or None.

    Lets most regexes be skipped: they run only when the automaton saw one of their
    literals in the text. Only ASCII literals count, lower-cased, as the text is
    case-folded; anything the analysis does not understand means "always run".
    """
    try:
        return _required_in(_re_parser.parse(pattern, re.IGNORECASE))
    except Exception:  # an analysis failure must only cost speed
        return None


def _required_in(sequence) -> set[str] | None:
    best: set[str] | None = None
    run: list[str] = []

    def consider(candidates):
        nonlocal best
        if candidates and all(candidates) and (
            best is None or min(map(len, candidates)) > min(map(len, best))
        ):
            best = candidates

    for op, arg in sequence:
        if op is _re_c.LITERAL and arg < 128:
            run.append(chr(arg).lower())
            continue
        if run:
            consider({"".join(run)})
            run = []
        if op is _re_c.SUBPATTERN:
            consider(_required_in(arg[-1]))
        elif op in (_re_c.MAX_REPEAT, _re_c.MIN_REPEAT, _re_c.POSSESSIVE_REPEAT) and arg[0] >= 1:
            consider(_required_in(arg[2]))
        elif op is _re_c.ATOMIC_GROUP:
            consider(_required_in(arg))
        elif op is _re_c.BRANCH:
            alternatives = [_required_in(branch) for branch in arg[1]]
            if all(alternatives):
                consider(set().union(*alternatives))
    if run:
        consider({"".join(run)})
    return best


class PhraseMatcher:
    """Compiled phrases. Inactive rules stay compiled and are skipped at match time,
    so the passing of time never forces a rebuild."""

    def __init__(self, phrases: list[tuple[str, str, str, datetime | None, datetime | None]]):
        self.automaton = ahocorasick.Automaton()
        self.regexes: list[tuple[re.Pattern, _Entry]] = []
        keys: dict[str, list[_Entry]] = {}
        for phrase, match_type, rule, active_from, active_to in phrases:
            if match_type == REGEX:
                try:
                    pattern = re.compile(unicodedata.normalize("NFKC", phrase), re.IGNORECASE)
                except re.error:
                    continue  # validated on save; a bad row must not break every send
                self.regexes.append((pattern, _Entry(phrase, rule, REGEX, active_from, active_to)))
                continue
            key = normalize(phrase)
            if not key:
                continue
            entry = _Entry(
                phrase, rule, EXACT if match_type == EXACT else CONTAINS, active_from, active_to,
                word_start=_is_word(key[0]), word_end=_is_word(key[-1]),
            )
            keys.setdefault(key, []).append(entry)
        for key, entries in keys.items():
            self.automaton.add_word(key, (len(key), tuple(entries)))
        self.size = len(phrases)
        if keys:
            self.automaton.make_automaton()
        # Literal phrases by their letters alone, for text spelled out letter by letter.
        self.spread = ahocorasick.Automaton()
        spread_keys: dict[str, list[_Entry]] = {}
        for key, entries in keys.items():
            letters = _NOT_ALNUM.sub("", key)
            if len(letters) >= SPREAD_MIN_LETTERS:
                spread_keys.setdefault(letters, []).extend(entries)
        for letters, entries in spread_keys.items():
            self.spread.add_word(letters, (len(letters), tuple(entries)))
        if spread_keys:
            self.spread.make_automaton()
        # Regex prefilter: a second automaton over each regex's required literals.
        self.regex_literals = ahocorasick.Automaton()
        self.always: list[int] = []
        by_literal: dict[str, list[int]] = {}
        for index, (_pattern, entry) in enumerate(self.regexes):
            literals = _required_literals(unicodedata.normalize("NFKC", entry.phrase))
            if literals is None:
                self.always.append(index)
            else:
                for literal in literals:
                    by_literal.setdefault(literal, []).append(index)
        for literal, indexes in by_literal.items():
            self.regex_literals.add_word(literal, tuple(indexes))
        if by_literal:
            self.regex_literals.make_automaton()

    def find(self, text: str, *, now: datetime) -> list[Match]:
        if not text:
            return []
        norm = NormalizedText(text)
        haystack = norm.text
        found: set[Match] = set()
        if self.automaton.kind == ahocorasick.AHOCORASICK:
            last = len(haystack) - 1
            for end, (length, entries) in self.automaton.iter(haystack):
                start = end - length + 1
                for entry in entries:
                    if entry.match_type == EXACT and not (
                        (not entry.word_start or start == 0 or not _is_word(haystack[start - 1]))
                        and (not entry.word_end or end == last or not _is_word(haystack[end + 1]))
                    ):
                        continue
                    if entry.active(now):
                        found.add(Match(*norm.span(start, end + 1), entry.phrase, entry.rule, entry.match_type))
        if self.spread.kind == ahocorasick.AHOCORASICK:
            self._find_spread(norm, now, found)
        candidates = set(self.always)
        if self.regex_literals.kind == ahocorasick.AHOCORASICK:
            for _end, indexes in self.regex_literals.iter(haystack):
                candidates.update(indexes)
        for index in sorted(candidates):
            pattern, entry = self.regexes[index]
            if not entry.active(now):
                continue
            for m in pattern.finditer(haystack):
                if m.end() > m.start():  # an empty match highlights nothing
                    found.add(Match(*norm.span(m.start(), m.end()), entry.phrase, entry.rule, REGEX))
        return sorted(found)

    def _find_spread(self, norm: NormalizedText, now: datetime, found: set[Match]) -> None:
        """Phrases spelled out letter by letter. Inside such a run word edges are unknown, so an
        exact phrase counts anywhere in it, as a contained one does; highlights cover the letters."""
        for run in _SPREAD.finditer(norm.text):
            positions = [run.start() + i for i, ch in enumerate(run.group()) if ch.isalnum()]
            letters = "".join(norm.text[i] for i in positions)
            for end, (length, entries) in self.spread.iter(letters):
                start = end - length + 1
                span = norm.span(positions[start], positions[end] + 1)
                for entry in entries:
                    if entry.active(now):
                        found.add(Match(*span, entry.phrase, entry.rule, entry.match_type))


# How long a process trusts its compiled matcher before asking the database again.
# Saves in this process invalidate at once (signals below); other processes see an
# admin's change within this many seconds.
VERSION_TTL_SECONDS = 1.0


class MatcherCache:
    """A process's compiled matcher over some table of phrases: `version()` is re-read at most once
    per `ttl` seconds, and `build()` runs again only when it changed. The restricted phrases and the
    safety lexicon (chats/safety/lexicon.py) each keep one."""

    def __init__(self, *, version, build, ttl: float):
        self._version, self._build, self._ttl = version, build, ttl
        self._lock = threading.Lock()
        self._cache: tuple[tuple, PhraseMatcher] | None = None
        self._checked_at = 0.0

    def get(self) -> PhraseMatcher:
        cached = self._cache
        if cached is not None and time.time() - self._checked_at < self._ttl:
            return cached[1]
        version = self._version()
        with self._lock:
            if self._cache is None or self._cache[0] != version:
                self._cache = (version, self._build())
            self._checked_at = time.time()
            return self._cache[1]

    def clear(self, **_signal_kwargs) -> None:
        self._cache, self._checked_at = None, 0.0


def _version() -> tuple:
    """Changes whenever a phrase is added, removed or edited, or a rule is edited.

    In-place phrase edits touch the rule's updated_at (see `_touch_rule`). Subqueries
    on each table, not a join, so the cost stays an index read and a count.
    """
    phrase_table = connection.ops.quote_name(RestrictedPhrase._meta.db_table)
    rule_table = connection.ops.quote_name(RestrictedPhraseRule._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT COUNT(*) FROM {phrase_table}), (SELECT MAX(id) FROM {phrase_table}), "
            f"(SELECT COUNT(*) FROM {rule_table}), (SELECT MAX(updated_at) FROM {rule_table})"
        )
        return tuple(cursor.fetchone())


def build_matcher() -> PhraseMatcher:
    rows = RestrictedPhrase.objects.values_list(
        "phrase", "match_type", "rule__name", "rule__active_from", "rule__active_to"
    )
    return PhraseMatcher(list(rows))


_restricted = MatcherCache(version=lambda: _version(), build=lambda: build_matcher(), ttl=VERSION_TTL_SECONDS)


def get_matcher() -> PhraseMatcher:
    """The process's compiled restricted-phrase matcher (see MatcherCache)."""
    return _restricted.get()


def clear_matcher_cache() -> None:
    _restricted.clear()


def check_restricted_phrases(*, text: str, now: datetime | None = None) -> list[Match]:
    """Every active restricted phrase in `text`, overlapping ones included, sorted by start."""
    return get_matcher().find(text, now=now or timezone.now())


def ensure_no_restricted_phrases(*, text: str, now: datetime | None = None) -> None:
    """Raise RestrictedPhrasesFound (422 `restricted_phrases`) when `text` holds any; sending calls this."""
    if matches := check_restricted_phrases(text=text, now=now):
        raise RestrictedPhrasesFound(matches)


def _touch_rule(sender, instance, **kwargs):
    RestrictedPhraseRule.objects.filter(pk=instance.rule_id).update(updated_at=timezone.now())
    clear_matcher_cache()


def _rule_changed(sender, instance, **kwargs):
    clear_matcher_cache()


post_save.connect(_touch_rule, sender=RestrictedPhrase, dispatch_uid="phrases-touch-rule-save")
post_save.connect(_rule_changed, sender=RestrictedPhraseRule, dispatch_uid="phrases-rule-save")
post_delete.connect(_rule_changed, sender=RestrictedPhraseRule, dispatch_uid="phrases-rule-delete")
post_delete.connect(_touch_rule, sender=RestrictedPhrase, dispatch_uid="phrases-touch-rule-delete")
