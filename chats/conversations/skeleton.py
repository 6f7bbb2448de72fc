"""What a reader sees in a character, for the restricted-phrase check (docs/rules.md, "Restricted phrases").

After NFKC and case folding, a non-ASCII character is reduced to the letter a reader takes it
for: format and other default-ignorable characters (zero-width spaces and joiners, the soft
hyphen, ...) are dropped, combining marks are stripped from their base letter, and letters of
other scripts that look like an ASCII letter or digit (Unicode TR39's confusables, from the
`confusable-homoglyphs` package's copy of Unicode's table) become that letter. ASCII passes
untouched, so the common text costs nothing.
"""
from __future__ import annotations

import functools
import unicodedata

from confusable_homoglyphs import utils as confusable_data

DROPPED_CATEGORIES = {"Mn", "Me", "Cf"}  # combining marks, enclosing marks, format characters
# Default-ignorable characters outside those categories (Hangul fillers; U+034F is Mn already).
DEFAULT_IGNORABLE = {"\u115f", "\u1160", "\u3164", "\uffa0"}


@functools.cache
def _ascii_prototypes() -> dict[str, str]:
    """Each non-ASCII character that Unicode's confusables table pairs with an ASCII letter or digit,
    mapped to it (a letter rather than a digit when both are listed: Cyrillic і is i, not 1)."""
    table = {}
    for char, glyphs in confusable_data.load("confusables.json").items():
        if len(char) != 1 or char.isascii():
            continue
        ascii_twins = {g["c"].casefold() for g in glyphs if len(g["c"]) == 1 and g["c"].isascii() and g["c"].isalnum()}
        if ascii_twins:
            table[char] = min(ascii_twins, key=lambda c: (not c.isalpha(), c))
    return table


def skeleton(folded: str) -> str:
    """`folded` (already NFKC and case-folded) as a reader sees it; ASCII comes back as it is."""
    if folded.isascii():
        return folded
    prototypes = _ascii_prototypes()
    kept = []
    for char in unicodedata.normalize("NFKD", folded):
        if char.isascii():
            kept.append(char)
        elif unicodedata.category(char) not in DROPPED_CATEGORIES and char not in DEFAULT_IGNORABLE:
            kept.append(prototypes.get(char, char))
    return unicodedata.normalize("NFC", "".join(kept))
