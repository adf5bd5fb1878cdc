"""Text folding and tolerant phrase matching for what citizens actually type: with or without
diacritics, odd spacing, doubled letters and small typos ("tra cuu", "tracuu", "tra cưu",
"tra cuuu" are the same request)."""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher
from functools import lru_cache

_SPACES = re.compile(r"\s+")
_NON_WORD = re.compile(r"[^0-9a-z\s]")
_REPEATS = re.compile(r"([a-z])\1+")


def fold(text: str) -> str:
    """Lower case, no diacritics, đ -> d, punctuation as spaces, single spaces. The same
    folding as SQL's ``motcua_fold`` for letters, so Python and PostgreSQL agree."""
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn").lower()
    return _SPACES.sub(" ", _NON_WORD.sub(" ", text)).strip()


@lru_cache(maxsize=4096)
def squash(folded: str) -> str:
    """Spaces out and doubled letters collapsed: 'tra  cuuu' and 'tracuu' both give 'tracu'."""
    return _REPEATS.sub(r"\1", folded.replace(" ", ""))


@lru_cache(maxsize=1024)
def _windows(folded: str, size: int) -> tuple[str, ...]:
    """The squashed runs of ``size`` words: one message is checked against dozens of phrases."""
    words = folded.split()
    return tuple(w for i in range(0, max(0, len(words) - size) + 1) if (w := squash(" ".join(words[i:i + size]))))


def contains_phrase(folded: str, phrase: str, *, threshold: float = 0.84) -> bool:
    """Whether ``phrase`` (folded) occurs in ``folded`` exactly, without spaces, or with a small
    typo in a window of the same number of words."""
    if not phrase:
        return False
    if f" {phrase} " in f" {folded} ":
        return True
    target = squash(phrase)
    if len(target) >= 5 and target in squash(folded):
        return True
    n = len(phrase.split())
    if len(target) < 5:  # short words: a typo would match too much
        return False
    # One matcher per phrase (the target's index is built once), and the cheap upper bounds
    # real_quick_ratio() >= quick_ratio() >= ratio() first: same answers, ~20x less CPU on the
    # worker's hottest path (measured by tests/bench; see tests/bench/RESULTS.md).
    matcher = SequenceMatcher(None, "", target)
    for size in {n, n + 1, max(1, n - 1)}:
        for window in _windows(folded, size):
            matcher.set_seq1(window)
            if (matcher.real_quick_ratio() >= threshold and matcher.quick_ratio() >= threshold
                    and matcher.ratio() >= threshold):
                return True
    return False


def any_phrase(folded: str, phrases: tuple[str, ...] | list[str]) -> str | None:
    for p in phrases:
        if contains_phrase(folded, p):
            return p
    return None


ZALO_TEXT_LIMIT = 2000


def fit(text: str, limit: int = ZALO_TEXT_LIMIT) -> str:
    """NFC-normalised and within Zalo's consultation-message limit; cut kindly at a line."""
    text = unicodedata.normalize("NFC", text).strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    nl = cut.rfind("\n")
    if nl > limit // 2:
        cut = cut[:nl]
    return cut.rstrip() + "…"
