"""The webhook signature, exactly as Zalo computes it (reference zalo.md §3.3).

``X-ZEvent-Signature: mac=<hex>`` where hex = SHA-256 (a plain digest, not an HMAC) of
``app_id + raw_body + timestamp + OA secret key``; ``app_id`` and ``timestamp`` are the
fields *inside* the body, and the body is the raw bytes as received (never re-serialised).
The key is the OA Secret Key from the app's Webhook page, not the App Secret.
"""

from __future__ import annotations

import hashlib
import hmac


def compute_mac(app_id: str, raw_body: bytes, timestamp: str, secret_key: str) -> str:
    """The lowercase hex digest Zalo puts after ``mac=``."""
    return hashlib.sha256(app_id.encode() + raw_body + timestamp.encode() + secret_key.encode()).hexdigest()


def parse_header(value: str | None) -> str | None:
    """The hex digest from the header value: ``mac=<hex>``, or a bare hex value."""
    if not value:
        return None
    sig = value.strip()
    if sig[:4].lower() == "mac=":
        sig = sig[4:].strip()
    return sig.lower() or None


def verify(raw_body: bytes, header_value: str | None, *, app_id: str, timestamp: str, secret_key: str) -> bool:
    """True when the header carries the right MAC; compared in constant time. Fails closed."""
    sig = parse_header(header_value)
    if not sig or not secret_key or not app_id or not timestamp:
        return False
    return hmac.compare_digest(compute_mac(app_id, raw_body, timestamp, secret_key), sig)
