"""Sign-in throttling in PostgreSQL, so every web process shares the count.

Each failed attempt is counted under two keys: the account (tenant + email) and the client
address. Too many failures within the window lock that key for a while; a success clears the
account's count. Keys are hashed, so the table holds no email addresses.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

import asyncpg

WINDOW_SECONDS = 15 * 60
LOCK_SECONDS = 15 * 60
LIMITS = {"acct": 5, "addr": 30}


class Throttled(Exception):
    def __init__(self, until: datetime) -> None:
        super().__init__("too many failed sign-ins")
        self.until = until


def keys(scope: str, email: str, address: str) -> dict[str, str]:
    def h(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    return {"acct": "acct:" + h(f"{scope}:{email.strip().lower()}"), "addr": "addr:" + h(address or "?")}


async def check_throttle(conn: asyncpg.Connection, scope: str, email: str, address: str) -> None:
    """Raise ``Throttled`` when the account or the address is locked."""
    until = await conn.fetchval(
        "SELECT max(locked_until) FROM staff_signin_attempt WHERE key = ANY($1) AND locked_until > now()",
        list(keys(scope, email, address).values()))
    if until is not None:
        raise Throttled(until)


async def record_failure(conn: asyncpg.Connection, scope: str, email: str, address: str) -> None:
    for kind, key in keys(scope, email, address).items():
        await conn.execute(
            """INSERT INTO staff_signin_attempt AS a (key, failures, window_start) VALUES ($1, 1, now())
               ON CONFLICT (key) DO UPDATE SET
                 failures = CASE WHEN a.window_start < now() - make_interval(secs => $2) THEN 1 ELSE a.failures + 1 END,
                 window_start = CASE WHEN a.window_start < now() - make_interval(secs => $2) THEN now()
                                     ELSE a.window_start END,
                 locked_until = CASE WHEN a.window_start >= now() - make_interval(secs => $2) AND a.failures + 1 >= $3
                                     THEN now() + make_interval(secs => $4) ELSE a.locked_until END""",
            key, float(WINDOW_SECONDS), LIMITS[kind], float(LOCK_SECONDS))


async def record_success(conn: asyncpg.Connection, scope: str, email: str, address: str) -> None:
    await conn.execute("DELETE FROM staff_signin_attempt WHERE key = $1", keys(scope, email, address)["acct"])
