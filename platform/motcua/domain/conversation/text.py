"""Text folding and tolerant phrase matching for what citizens actually type: with or without
diacritics, odd spacing, doubled letters and small typos ("tra cuu", "tracuu", "tra cưu",
"tra cuuu" are the same request)."""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
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


_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"


@lru_cache(maxsize=4096)
def _absent(text: str) -> dict[int, None]:
    """A ``str.translate`` table deleting every letter and digit that ``text`` lacks."""
    return str.maketrans("", "", "".join(c for c in _ALNUM if c not in text))


@lru_cache(maxsize=1024)
def _windows(folded: str, size: int) -> tuple[tuple[int, ...], tuple[tuple[str, dict[int, None]], ...]]:
    """The squashed runs of ``size`` words, shortest first, each with its ``_absent`` table, and
    their lengths (to pick by length with bisect): one message is checked against dozens of phrases."""
    words = folded.split()
    runs = sorted({w for i in range(0, max(0, len(words) - size) + 1) if (w := squash(" ".join(words[i:i + size])))},
                  key=len)
    return tuple(len(w) for w in runs), tuple((w, _absent(w)) for w in runs)


@lru_cache(maxsize=1024)
def _phrase(phrase: str) -> tuple[str, tuple[int, ...], SequenceMatcher]:
    """What matching ``phrase`` with a typo needs, built once: it squashed, the window sizes to
    try, and a matcher holding its index. (Matching never awaits, so one matcher is safe.)"""
    n = len(phrase.split())
    target = squash(phrase)
    return target, tuple({n, n + 1, max(1, n - 1)}), SequenceMatcher(None, "", target)


def contains_phrase(folded: str, phrase: str, *, threshold: float = 0.84) -> bool:
    """Whether ``phrase`` (folded) occurs in ``folded`` exactly, without spaces, or with a small
    typo in a window of the same number of words."""
    if not phrase:
        return False
    if f" {phrase} " in f" {folded} ":
        return True
    target = _phrase(phrase)[0]
    return len(target) >= 5 and (target in squash(folded) or _with_typo(folded, phrase, threshold))


def _with_typo(folded: str, phrase: str, threshold: float = 0.84) -> bool:
    """A window of ``folded`` within ``threshold`` of ``phrase`` by difflib's ratio."""
    target, sizes, matcher = _phrase(phrase)
    length = len(target)
    if length < 5:  # short words: a typo would match too much
        return False
    # difflib's ratio is 2M / (len(target) + len(window)), M the target letters matched. M is at
    # most the number of target letters that occur in the window at all (a count str.translate
    # makes in C), so windows that cannot reach the threshold are skipped before difflib looks:
    # first against the whole message (M <= len(window) makes M >= threshold * length /
    # (2 - threshold) necessary), then per window. Then difflib's own cheap upper bound,
    # quick_ratio() >= ratio(). Same answers, a quarter of the CPU (tests/bench/RESULTS.md, I).
    if len(target.translate(_absent(squash(folded)))) < threshold * length / (2 - threshold):
        return False
    # 2 * min(length, len(window)) / total >= threshold bounds the window's length both ways.
    shortest, longest = length * threshold / (2 - threshold), length * (2 - threshold) / threshold
    for size in sizes:
        lengths, windows = _windows(folded, size)
        for window, absent in windows[bisect_left(lengths, shortest):bisect_right(lengths, longest)]:
            total = length + len(window)
            if 2 * len(target.translate(absent)) < threshold * total:
                continue
            matcher.set_seq1(window)
            if matcher.quick_ratio() >= threshold and matcher.ratio() >= threshold:
                return True
    return False


@lru_cache(maxsize=64)
def _exact(phrases: tuple[str, ...]) -> tuple[re.Pattern[str], re.Pattern[str] | None]:
    """``contains_phrase``'s two exact tests for a whole list at once, as two regular expressions:
    a phrase between spaces, and a long phrase's squashed form inside the squashed message."""
    words = re.compile("(?:^| )(?:" + "|".join(re.escape(p) for p in phrases if p) + ")(?: |$)")
    long = [squash(p) for p in phrases if len(squash(p)) >= 5]
    return words, re.compile("|".join(re.escape(t) for t in long)) if long else None


def any_phrase(folded: str, phrases: tuple[str, ...]) -> bool:
    """Whether any of ``phrases`` is in ``folded`` as ``contains_phrase`` understands it."""
    words, squashed = _exact(tuple(phrases))
    if words.search(folded) or (squashed and squashed.search(squash(folded))):
        return True
    return any(_with_typo(folded, p) for p in phrases)


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
