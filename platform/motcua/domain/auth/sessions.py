"""Sessions: a random cookie value; the database keeps only its SHA-256, with the CSRF token
bound to it, an absolute expiry and an idle expiry."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import asyncpg

from motcua.db.database import Database
from motcua.domain.auth.principal import Principal

SESSION_ABSOLUTE = timedelta(hours=12)  # a working day, then sign in again
SESSION_IDLE = timedelta(hours=2)
TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def open_session(conn: asyncpg.Connection, *, tenant_id: str | None, user_id: int | None = None,
                       operator_id: int | None = None, method: str = "password") -> str:
    """Create a session and return the cookie value (shown once, never stored)."""
    token = secrets.token_urlsafe(32)
    await conn.execute(
        "INSERT INTO staff_session (token_hash, tenant_id, user_id, operator_id, csrf, method, expires_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, now() + $7)",
        token_hash(token), tenant_id, user_id, operator_id, secrets.token_urlsafe(24), method, SESSION_ABSOLUTE)
    # Expired sessions are swept opportunistically: no scheduler needed.
    await conn.execute("DELETE FROM staff_session WHERE token_hash IN (SELECT token_hash FROM staff_session "
                       "WHERE expires_at < now() LIMIT 100)")
    return token


async def close_session(db: Database, token: str | None) -> None:
    if token:
        async with db.system() as conn:
            await conn.execute("DELETE FROM staff_session WHERE token_hash = $1", token_hash(token))


async def load_session(db: Database, token: str | None) -> Principal | None:
    """The signed-in person for a cookie value, or None when it is unknown, expired or idle too long."""
    if not token or len(token) > 100:
        return None
    h = token_hash(token)
    async with db.system() as conn:
        s = await conn.fetchrow(
            "SELECT *, last_seen_at < now() - $2::interval AS stale FROM staff_session "
            "WHERE token_hash = $1 AND expires_at > now() AND last_seen_at > now() - $3::interval",
            h, TOUCH_EVERY, SESSION_IDLE)
        if s is None:
            return None
        if s["stale"]:
            await conn.execute("UPDATE staff_session SET last_seen_at = now() WHERE token_hash = $1", h)
        if s["operator_id"] is not None:
            op = await conn.fetchrow("SELECT * FROM operator WHERE id = $1 AND active", s["operator_id"])
            if op is None:
                return None
            return Principal(kind="operator", id=op["id"], email=op["email"], name=op["name"], role="operator",
                             tenant=None, csrf=s["csrf"], session=h)
    async with db.tenant(s["tenant_id"]) as conn:
        u = await conn.fetchrow("SELECT * FROM staff_user WHERE tenant_id = $1 AND id = $2 AND active",
                                s["tenant_id"], s["user_id"])
    if u is None:
        return None
    return Principal(kind="staff", id=u["id"], email=u["email"], name=u["name"], role=u["role"],
                     tenant=s["tenant_id"], agencies=tuple(u["agencies"]), specialist=u["specialist"],
                     csrf=s["csrf"], session=h)
