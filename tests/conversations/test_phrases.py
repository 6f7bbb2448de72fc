"""The restricted-phrase matcher: types, normalisation, offsets, active dates, caching."""
import random
import re
from datetime import datetime, timedelta, timezone

import pytest
import time_machine

from chats.api.errors import domain_status
from chats.conversations import phrases
from chats.conversations.phrase_text import NormalizedText, normalize
from chats.conversations.phrases import Match, PhraseMatcher, check_restricted_phrases, ensure_no_restricted_phrases
from chats.errors import RestrictedPhrasesFound
from chats.models import RestrictedPhrase, RestrictedPhraseRule

NOW = datetime(2025, 3, 1, tzinfo=timezone.utc)


def matcher(*specs):
    return PhraseMatcher([(phrase, kind, "R", None, None) for phrase, kind in specs])


def found(m, text):
    return [(x.start, x.end, text[x.start:x.end], x.phrase) for x in m.find(text, now=NOW)]


def test_contains_is_a_case_insensitive_substring():
    assert found(matcher(("cap", "contains")), "Try CHOLECAP today") == [(9, 12, "CAP", "cap")]


def test_exact_needs_whole_words():
    m = matcher(("earn", "exact"))
    assert found(m, "Earn more") == [(0, 4, "Earn", "earn")]
    assert found(m, "learn more, earned") == []
    assert found(m, "(earn)") == [(1, 5, "earn", "earn")]


def test_exact_phrase_of_several_words_and_punctuation_edges():
    m = matcher(("guaranteed results", "exact"), ("$100 off", "exact"))
    assert found(m, "We promise GUARANTEED   results!") == [(11, 31, "GUARANTEED   results", "guaranteed results")]
    assert found(m, "unguaranteed results") == []
    assert found(m, "get $100 off now") == [(4, 12, "$100 off", "$100 off")]


@pytest.mark.parametrize("typed", [
    "a cu\u200bre for all",       # a zero-width space inside the word
    "a cu\u2060re for all",       # a word joiner
    "a c\u00adure for all",       # a soft hyphen
    "a cu\u0301re for all",       # a combining accent on a letter
    "a cúre for all",             # the same letter, precomposed
    "a \u0441ure for all",        # Cyrillic es, which looks like c
    "a c\u03c5re for all",        # Greek upsilon, which looks like u
    "a ｃｕｒｅ for all",          # full-width letters
])
def test_nothing_a_reader_does_not_see_or_reads_as_the_same_letter_gets_a_phrase_past(typed):
    m = matcher(("cure", "exact"), ("off-label", "contains"))
    [(start, end, text, phrase)] = found(m, typed)
    # the match's offsets point into the text as typed, around the whole disguised word
    assert (start, phrase) == (2, "cure") and typed[start:end].startswith(("c", "\u0441", "ｃ"))
    assert typed[end:] == " for all"


def test_disguised_letters_in_a_contains_phrase_and_an_innocent_word_around_them():
    m = matcher(("off-label", "contains"), ("earn", "exact"))
    assert [x[3] for x in found(m, "use it \u043eff-\u200blabel")] == ["off-label"]  # Cyrillic o, zero-width space
    assert found(m, "l\u0435arn more") == []  # Cyrillic ie: "learn" still is not "earn"


@pytest.mark.parametrize("typed,letters", [
    ("a c u r e for all", "c u r e"),
    ("a c.u.r.e for all", "c.u.r.e"),
    ("a C-U-R-E for all", "C-U-R-E"),
    ("a c . u . r . e for all", "c . u . r . e"),
    ("a c_u_r_e for all", "c_u_r_e"),
    ("a c\u200b u r e for all", "c\u200b u r e"),  # spread and disguised at once
    ("a \u0441 u r e for all", "\u0441 u r e"),
])
def test_letters_spread_out_with_spaces_or_punctuation_are_read_together(typed, letters):
    m = matcher(("cure", "exact"))
    # the highlight covers the spelled-out letters, as typed
    assert found(m, typed) == [(2, 2 + len(letters), letters, "cure")]


def test_spread_letters_reach_multi_word_and_contains_phrases_too():
    m = matcher(("off-label", "contains"), ("no side effects", "exact"))
    assert [x[3] for x in found(m, "try it o f f l a b e l")] == ["off-label"]
    assert [x[3] for x in found(m, "N.O S.I.D.E E.F.F.E.C.T.S at all")] == ["no side effects"]


@pytest.mark.parametrize("innocent", [
    "I can cure",            # "cure" is found once, normally
    "a b c d e",             # single letters that spell no phrase
    "cu r e",                # not every letter apart: the reader sees words, not a spelled-out one
    "c  u  r  e".replace("  ", " ----- "),  # too far apart to be read as one word
])
def test_spread_matching_finds_nothing_extra(innocent):
    m = matcher(("cure", "exact"))
    expected = [(6, 10, "cure", "cure")] if innocent == "I can cure" else []
    assert found(m, innocent) == expected


def test_regex_is_case_insensitive_python_syntax():
    m = matcher((r"100\s*%\s*(safe|effective)", "regex"))
    assert found(m, "It is 100 % Safe.") == [(6, 16, "100 % Safe", r"100\s*%\s*(safe|effective)")]
    assert found(m, "100 percent safe") == []


def test_nfkc_fullwidth_and_ligatures_match():
    m = matcher(("off-label", "contains"), ("fish", "exact"))
    text = "Use ｏｆｆ－ＬＡＢＥＬ and ﬁsh"
    assert found(m, text) == [(4, 13, "ｏｆｆ－ＬＡＢＥＬ", "off-label"), (18, 21, "ﬁsh", "fish")]


def test_combining_accents_compose_and_map_back():
    m = matcher(("café", "exact"))
    text = "Un cafe\u0301 noir"
    assert found(m, text) == [(3, 8, "cafe\u0301", "café")]


def test_whitespace_runs_count_as_one_space_and_offsets_cover_the_run():
    m = matcher(("best in class", "contains"))
    text = "Simply best \n\t in\u00a0\u00a0class."
    [(start, end, original, _)] = found(m, text)
    assert (start, end) == (7, 24)
    assert original == "best \n\t in\u00a0\u00a0class"


def test_phrase_whitespace_is_folded_too():
    assert found(matcher(("  best   in class ", "contains")), "best in class") == [(0, 13, "best in class", "  best   in class ")]


def test_offsets_after_expanding_characters_point_at_the_original():
    # "ß" folds to "ss" and "ﬃ" to "ffi": normalised positions drift, reported ones must not
    m = matcher(("cure", "exact"))
    text = "Straße ﬃ: a cure"
    assert found(m, text) == [(12, 16, "cure", "cure")]


def test_overlapping_matches_all_reported_sorted_by_start():
    m = matcher(("cholecap", "contains"), ("cap", "contains"), ("chole", "contains"), (r"lecap\w*", "regex"))
    assert [(x.start, x.end, x.phrase) for x in m.find("Cholecaps", now=NOW)] == [
        (0, 5, "chole"), (0, 8, "cholecap"), (3, 9, r"lecap\w*"), (5, 8, "cap")]


def test_same_phrase_in_two_rules_reported_per_rule():
    m = PhraseMatcher([("cure", "exact", "A", None, None), ("cure", "contains", "B", None, None)])
    assert {(x.rule, x.match_type) for x in m.find("a cure", now=NOW)} == {("A", "exact"), ("B", "contains")}


def test_empty_regex_matches_and_invalid_regex_are_ignored():
    m = matcher(("x*", "regex"), ("(unclosed", "regex"), ("cure", "contains"))
    assert found(m, "no cure") == [(3, 7, "cure", "cure")]


def test_nothing_to_match():
    assert matcher().find("anything", now=NOW) == []
    assert matcher(("cure", "exact")).find("", now=NOW) == []


def test_normalized_text_agrees_with_whole_string_normalisation():
    random.seed(7)
    alphabet = "aBc Z\t\n\u00a0\u3000ｆＡß\u0301e1-_İﬁ한\u00a8´"
    for _ in range(3000):
        text = "".join(random.choice(alphabet) for _ in range(random.randint(0, 14)))
        assert NormalizedText(text).text.strip() == normalize(text), repr(text)


def test_every_match_maps_inside_the_original_text():
    random.seed(3)
    m = matcher(("ab", "contains"), ("b c", "contains"), ("ss", "contains"))
    for _ in range(2000):
        text = "".join(random.choice("aAbB cß\u00a0ｂ\t") for _ in range(random.randint(0, 12)))
        for x in m.find(text, now=NOW):
            assert 0 <= x.start < x.end <= len(text)
            assert normalize(text[x.start:x.end]).find(normalize(x.phrase)) != -1 or x.phrase == "ss"


# --- with the database -----------------------------------------------------------


@pytest.fixture(autouse=True)
def _fresh_cache():
    phrases.clear_matcher_cache()
    yield
    phrases.clear_matcher_cache()


@pytest.mark.django_db
def test_rules_respect_active_dates():
    RestrictedPhrase.objects.create(
        rule=RestrictedPhraseRule.objects.create(name="Launch embargo", active_from=NOW, active_to=NOW + timedelta(days=7)),
        phrase="new indication", match_type="contains",
    )
    text = "Ask about the new indication"
    assert check_restricted_phrases(text=text, now=NOW - timedelta(seconds=1)) == []
    assert check_restricted_phrases(text=text, now=NOW) == [Match(14, 28, "new indication", "Launch embargo", "contains")]
    assert check_restricted_phrases(text=text, now=NOW + timedelta(days=7)) == []


@pytest.mark.django_db
def test_matcher_is_cached_and_rebuilt_on_change(django_assert_num_queries):
    rule = RestrictedPhraseRule.objects.create(name="Off-label claims")
    phrase = RestrictedPhrase.objects.create(rule=rule, phrase="cure", match_type="exact")
    with time_machine.travel(NOW, tick=False) as clock:
        assert [m.phrase for m in check_restricted_phrases(text="a cure")] == ["cure"]
        # within the TTL a check costs no query at all
        with django_assert_num_queries(0):
            check_restricted_phrases(text="a cure")
        # after it, one version query and no rebuild
        clock.shift(phrases.VERSION_TTL_SECONDS + 0.1)
        with django_assert_num_queries(1):
            check_restricted_phrases(text="a cure")
        # editing a phrase in place is seen at once here, and by other processes through the version
        before = phrases._version()
        phrase.phrase = "miracle"
        phrase.save()
        assert phrases._version() != before
        assert check_restricted_phrases(text="a cure") == []
        assert [m.phrase for m in check_restricted_phrases(text="a miracle")] == ["miracle"]
        phrase.delete()
        assert check_restricted_phrases(text="a miracle") == []


@pytest.mark.django_db
def test_version_catches_edits_made_by_another_process():
    rule = RestrictedPhraseRule.objects.create(name="R")
    RestrictedPhrase.objects.create(rule=rule, phrase="cure", match_type="exact")
    with time_machine.travel(NOW, tick=False) as clock:
        assert check_restricted_phrases(text="cure")
        # another process (no signal here) adds a phrase: seen once the TTL has passed
        RestrictedPhrase.objects.bulk_create([RestrictedPhrase(rule=rule, phrase="miracle", match_type="contains")])
        clock.shift(phrases.VERSION_TTL_SECONDS + 0.1)
        assert [m.phrase for m in check_restricted_phrases(text="miracles")] == ["miracle"]


@pytest.mark.django_db
def test_rule_date_change_is_seen_at_once():
    rule = RestrictedPhraseRule.objects.create(name="R")
    RestrictedPhrase.objects.create(rule=rule, phrase="cure", match_type="exact")
    assert check_restricted_phrases(text="cure", now=NOW)
    rule.active_to = NOW - timedelta(days=1)
    rule.save()
    assert check_restricted_phrases(text="cure", now=NOW) == []


@pytest.mark.django_db
def test_ensure_raises_422_error_with_matches():
    RestrictedPhrase.objects.create(rule=RestrictedPhraseRule.objects.create(name="R"), phrase="cure", match_type="exact")
    ensure_no_restricted_phrases(text="nothing here")
    with pytest.raises(RestrictedPhrasesFound) as caught:
        ensure_no_restricted_phrases(text="A CURE")
    assert domain_status(caught.value) == 422
    assert caught.value.code == "restricted_phrases"
    assert caught.value.extra["matches"] == [{"start": 2, "end": 6, "phrase": "cure", "rule": "R", "match_type": "exact"}]


def test_regex_prefilter_finds_the_same_as_running_every_regex():
    # the literal prefilter may only skip regexes that cannot match
    patterns = [r"100\s*%\s*(safe|effective)", r"(cures?|heals?)\s+\w+", r"x*y", r"best[- ]in[- ]class|abc\d+",
                r"(?:ab)+c", r"\bno\s+side[- ]effects?\b", r"[0-9]+ ?mg", r"(?i)RISK", r"a{0,3}b"]
    m = matcher(*[(p, "regex") for p in patterns])
    assert m.always == []  # every one of these has a literal to wait for
    brute = [(re.compile(p, re.IGNORECASE), p) for p in patterns]
    random.seed(11)
    words = ["100", "%", "safe", "Cure", "heals", "x", "y", "best-in class", "abc12", "abab", "c", "no", "side",
             "effects", "5", "mg", "Risk", "aaab", "b", "  "]
    for _ in range(1500):
        text = " ".join(random.choice(words) for _ in range(random.randint(1, 8)))
        expected = {(p, mm.start(), mm.end()) for rx, p in brute for mm in rx.finditer(NormalizedText(text).text)
                    if mm.end() > mm.start()}
        got = {(x.phrase, x.start, x.end) for x in m.find(text, now=NOW)}
        assert {e[0] for e in expected} == {g[0] for g in got}, text


def test_required_literals():
    assert phrases._required_literals(r"100\s*%\s*(safe|effective)") == {"safe", "effective"}
    assert phrases._required_literals(r"(cures?|heals?)\s+\w+") == {"cure", "heal"}
    assert phrases._required_literals(r"x*") is None
    assert phrases._required_literals(r"(?i)RISK") == {"risk"}
