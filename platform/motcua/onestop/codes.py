"""Dossier codes: opaque strings compared case-insensitively with separators normalised."""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s._\-/]+")
_CANONICAL = re.compile(r"^[0-9A-Z]{3}\.[0-9A-Z]{2}\.[0-9A-Z]{2}\.[A-Z][0-9]{2}-\d{6}-\d{4,}$")
# Anything that looks like a code inside a sentence: the agency part then date and sequence.
_IN_TEXT = re.compile(
    r"(?<![0-9A-Za-z])([0-9A-Za-z]{3}[\s.]*[0-9A-Za-z]{2}[\s.]*[0-9A-Za-z]{2}[\s.]*[A-Za-z][0-9]{2}"
    r"[\s\-]*\d{6}[\s\-]*\d{4,})(?![0-9])"
)


def normalize_code(code: str) -> str:
    """The comparison key: upper case, separators removed (``000.00.07.h12 - 251119-0001``
    and ``000.00.07.H12-251119-0001`` are the same dossier)."""
    return _SEPARATORS.sub("", code.strip().upper())


_PARTS = re.compile(r"^([0-9A-Z]{3})([0-9A-Z]{2})([0-9A-Z]{2})([A-Z][0-9]{2})(\d{6})(\d{4,})$")


def format_code(code: str) -> str:
    """The canonical written form (``000.00.07.H12-251119-0001``) of a code however it was typed;
    a code of another scheme comes back stripped but otherwise as given. Adapters send this to
    systems that match codes literally."""
    m = _PARTS.match(normalize_code(code))
    if not m:
        return code.strip()
    a, b, c, h, day, seq = m.groups()
    return f"{a}.{b}.{c}.{h}-{day}-{seq}"


def is_canonical_code(code: str) -> bool:
    return bool(_CANONICAL.match(code.strip()))


def find_code(text: str) -> str | None:
    """The first dossier code in free text, normalised, or None."""
    m = _IN_TEXT.search(text)
    return normalize_code(m.group(1)) if m else None


def agency_province_code(code: str) -> str | None:
    """The province H-code inside a canonical code (``H12`` in ``000.00.07.H12-...``)."""
    m = re.search(r"([A-Z][0-9]{2})(?=\d{6}\d{4,}$)", normalize_code(code))
    return m.group(1) if m else None


def local_phone(phone: str) -> str:
    """A Vietnamese mobile number as one-stop systems store it (``0912345678``), from any form a
    citizen or Zalo gives (``+84 912 345 678``, ``84912345678``)."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    return digits
