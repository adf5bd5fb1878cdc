"""Routing questions and feedback to the responsible agency (cơ quan) by the tenant's rules.

Order: the file's ``[[routing]]`` rules (a category named in ``categories``, or a keyword in the
text), then the agencies' ``topics``, then the fallback rule (``categories`` containing "khac")
or the tenant's service centre. Matching ignores case and Vietnamese accents, so "so do" matches
"sổ đỏ".
"""

from __future__ import annotations

import re
import unicodedata

from motcua.tenancy.schema import Tenant

FALLBACK_CATEGORIES = ("khac", "other")


def fold(text: str | None) -> str:
    """Lower case, no accents, đ -> d, single spaces: how citizens' text is compared."""
    text = unicodedata.normalize("NFD", (text or "").replace("đ", "d").replace("Đ", "D"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return re.sub(r"\s+", " ", re.sub(r"[^\w]+", " ", text)).strip()


def _contains(haystack: str, needle: str) -> bool:
    needle = fold(needle)
    return bool(needle) and f" {needle} " in f" {haystack} "


def route(tenant: Tenant, text: str | None = None, category: str | None = None) -> str | None:
    """The agency code that should answer, or None when the tenant has no agencies at all."""
    f = tenant.file
    body, cat = fold(text), fold(category)
    active = {a.code for a in f.agencies}
    # A named category decides, except the catch-all ones ("khac"): the text may say more.
    if cat and cat not in FALLBACK_CATEGORIES:
        for rule in f.routing:
            if rule.agency in active and cat in {fold(c) for c in rule.categories}:
                return rule.agency
    for rule in f.routing:
        if rule.agency in active and any(_contains(body, k) for k in rule.keywords):
            return rule.agency
    best: tuple[int, str] | None = None
    for a in f.agencies:
        for topic in a.topics:
            if _contains(body, topic) and (best is None or len(topic) > best[0]):
                best = (len(topic), a.code)
    if best:
        return best[1]
    for rule in f.routing:
        if rule.agency in active and any(fold(c) in FALLBACK_CATEGORIES for c in rule.categories):
            return rule.agency
    centre = next((a.code for a in f.agencies if a.kind == "center"), None)
    return centre or (f.agencies[0].code if f.agencies else None)
