"""The text as the restricted-phrase matcher reads it, with a way back to the text as typed.

`normalize` gives what the matcher compares: NFKC, case-folded, each character as a reader
sees it (skeleton.py), whitespace runs as one space. `NormalizedText` does the same to a rep's
text and maps every position of the result back to the span of the original it came from, so
highlights point into the text as the rep typed it.
"""
from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right

from chats.conversations.skeleton import skeleton

# Runs of printable ASCII without whitespace: NFKC leaves them alone and casefold is lower().
# An ASCII character followed by a non-ASCII one (maybe a combining accent) goes with it.
_TOKENS = re.compile(
    r"(?P<ascii>(?:[\x21-\x7e](?![^\x00-\x7f]))+)|(?P<space>\s+)|(?P<other>[\x21-\x7e]?[^\x21-\x7e\s]+|[\x21-\x7e])"
)


def normalize(text: str) -> str:
    """How phrases are stored for matching: NFKC, case-folded, as a reader sees each character
    (chats/conversations/skeleton.py), whitespace runs as one space."""
    return " ".join(skeleton(unicodedata.normalize("NFKC", text or "").casefold()).split())


class NormalizedText:
    """The normalised text plus a map from its positions back to spans of the original.

    `segments` are (norm_start, norm_len, orig_start, orig_len, identity). Inside an
    identity segment positions map one to one; elsewhere every normalised character
    stands for the whole original span it came from (a folded whitespace run, or one
    character with its combining marks).
    """

    __slots__ = ("text", "_starts", "_segments")

    def __init__(self, original: str):
        built = _build_fast(original)
        if built is None:
            built = _build_slow(original)
        parts, segments = built
        self.text = "".join(parts)
        self._segments = segments
        self._starts = [s[0] for s in segments]

    def _locate(self, index: int) -> tuple[int, int]:
        """The original span [start, end) that normalised character `index` came from."""
        seg = self._segments[bisect_right(self._starts, index) - 1]
        norm_start, _norm_len, orig_start, orig_len, identity = seg
        if identity:
            at = orig_start + index - norm_start
            return at, at + 1
        return orig_start, orig_start + orig_len

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original offsets for the normalised half-open range [start, end)."""
        return self._locate(start)[0], self._locate(end - 1)[1]


# What the fast path must treat specially; everything between is ASCII that maps to itself
# (lower-cased): runs of 2+ whitespace, any whitespace but a plain space, and non-ASCII
# (with the ASCII character before it, which a combining mark may belong to).
_EXCEPTIONS = re.compile(r"\s{2,}|[^\S ]|[\x21-\x7e]?[^\x00-\x7f\s]+")


def _build_fast(original: str):
    """Segments for identity stretches and each exception; None if NFKC produced
    whitespace out of a non-space character (rare), which the slow path handles."""
    parts: list[str] = []
    segments: list[tuple[int, int, int, int, bool]] = []
    pos = last = 0
    for m in _EXCEPTIONS.finditer(original):
        start, end = m.span()
        if start > last:
            parts.append(original[last:start].lower())
            segments.append((pos, start - last, last, start - last, True))
            pos += start - last
        token = m.group()
        if token.isspace():
            parts.append(" ")
            segments.append((pos, 1, start, end - start, False))
            pos += 1
        else:
            for cluster_start, cluster in _clusters(token, start):
                folded = skeleton(unicodedata.normalize("NFKC", cluster).casefold())
                if not folded or any(ch.isspace() for ch in folded):
                    return None  # a character a reader does not see may join two spaces: the slow path merges
                parts.append(folded)
                segments.append((pos, len(folded), cluster_start, len(cluster), False))
                pos += len(folded)
        last = end
    if last < len(original):
        parts.append(original[last:].lower())
        segments.append((pos, len(original) - last, last, len(original) - last, True))
    return parts, segments


def _build_slow(original: str):
    """Token by token, merging whitespace that NFKC produced with its neighbours."""
    parts: list[str] = []
    segments: list[tuple[int, int, int, int, bool]] = []
    pos = 0

    def add(norm: str, orig_start: int, orig_len: int, identity: bool):
        nonlocal pos
        if not norm:
            return
        if norm.isspace():
            # Any whitespace is one space; a run that touches the previous one joins it.
            if parts and parts[-1] == " ":
                s = segments[-1]
                segments[-1] = (s[0], 1, s[2], orig_start + orig_len - s[2], False)
                return
            norm, identity = " ", orig_len == 1
        parts.append(norm)
        segments.append((pos, len(norm), orig_start, orig_len, identity))
        pos += len(norm)

    for token in _TOKENS.finditer(original):
        start = token.start()
        if token.lastgroup == "ascii":
            add(token.group().lower(), start, token.end() - start, True)
        elif token.lastgroup == "space":
            add(" ", start, token.end() - start, token.end() - start == 1)
        else:
            for cluster_start, cluster in _clusters(token.group(), start):
                folded = skeleton(unicodedata.normalize("NFKC", cluster).casefold())
                for piece in _split_spaces(folded):
                    add(piece, cluster_start, len(cluster), False)
    return parts, segments


def _clusters(chunk: str, offset: int):
    """Split into a base character plus its combining marks, so NFKC can compose them."""
    start = 0
    for i in range(1, len(chunk) + 1):
        if i == len(chunk) or not unicodedata.combining(chunk[i]):
            yield offset + start, chunk[start:i]
            start = i


def _split_spaces(folded: str) -> list[str]:
    if not any(ch.isspace() for ch in folded):
        return [folded]
    return [p for p in re.split(r"(\s+)", folded) if p]
