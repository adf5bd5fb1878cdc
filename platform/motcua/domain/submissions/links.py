"""Signed links to the online form, opened from a Zalo button.

``/t/{tenant}/nop/{procedure_code}?u=<citizen id>&t=<expiry>.<signature>``: the signature binds
tenant, procedure, citizen and expiry, so a link cannot be edited to open someone else's draft
or kept forever (a forwarded link stops working after ``LINK_DAYS``).
"""

from __future__ import annotations

import time
from urllib.parse import quote, urlencode

LINK_DAYS = 7


def _message(tenant_id: str, procedure_code: str, citizen_id: int, expires: int) -> str:
    return f"nop:{tenant_id}:{procedure_code.strip().upper()}:{citizen_id}:{expires}"


def form_token(crypto, tenant_id: str, procedure_code: str, citizen_id: int, *, ttl_days: float = LINK_DAYS,
               now: float | None = None) -> str:
    expires = int((now or time.time()) + ttl_days * 86400)
    return f"{expires:x}.{crypto.sign(_message(tenant_id, procedure_code, citizen_id, expires))}"


def verify_form_token(crypto, tenant_id: str, procedure_code: str, citizen_id: int, token: str | None, *,
                      now: float | None = None) -> str:
    """'ok', 'expired' or 'invalid'."""
    try:
        exp_hex, sig = (token or "").split(".", 1)
        expires = int(exp_hex, 16)
    except ValueError:
        return "invalid"
    if not crypto.verify(_message(tenant_id, procedure_code, citizen_id, expires), sig):
        return "invalid"
    return "ok" if expires > (now or time.time()) else "expired"


def form_path(tenant_id: str, procedure_code: str) -> str:
    return f"/t/{tenant_id}/nop/{quote(procedure_code.strip(), safe='')}"


def form_link(runtime, tenant_id: str, procedure_code: str, citizen_id: int, *, ttl_days: float = LINK_DAYS) -> str:
    """The full URL a Zalo button opens (the citizen bot and ``offer_form`` use it)."""
    token = form_token(runtime.crypto, tenant_id, procedure_code, citizen_id, ttl_days=ttl_days)
    query = urlencode({"u": citizen_id, "t": token})
    return f"{runtime.settings.public_url}{form_path(tenant_id, procedure_code)}?{query}"


def status_token(crypto, tenant_id: str, code_key: str) -> str:
    """The status page's token, as the citizen-services part defines it."""
    return crypto.sign(f"{tenant_id}:{code_key}")


def status_link(runtime, tenant_id: str, code: str) -> str:
    from motcua.onestop.codes import normalize_code

    key = normalize_code(code)
    return (f"{runtime.settings.public_url}/t/{tenant_id}/hs/{quote(code, safe='')}"
            f"?t={status_token(runtime.crypto, tenant_id, key)}")


OFFICER_LINK_SECONDS = 15 * 60


def officer_file_link(runtime, tenant_id: str, file_id: int, *, ttl_seconds: int = OFFICER_LINK_SECONDS,
                      now: float | None = None) -> str:
    """A short-lived link to one attached photo, for an officer's page.

    The staff pages decide who may see a dossier's papers (their own sign-in and roles) and
    only then put these links in the page; the link alone grants nothing after ``ttl_seconds``.
    """
    expires = int((now or time.time()) + ttl_seconds)
    sig = runtime.crypto.sign(f"tep:{tenant_id}:{file_id}:{expires}")
    return f"{runtime.settings.public_url}/t/{tenant_id}/tep/{file_id}?{urlencode({'e': f'{expires:x}', 't': sig})}"


def verify_officer_file(crypto, tenant_id: str, file_id: int, e: str | None, t: str | None, *,
                        now: float | None = None) -> bool:
    try:
        expires = int(e or "", 16)
    except ValueError:
        return False
    return expires > (now or time.time()) and crypto.verify(f"tep:{tenant_id}:{file_id}:{expires}", t or "")
