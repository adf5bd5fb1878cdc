"""OA access tokens: stored encrypted, refreshed before expiry, exactly once per OA.

Refresh tokens are single use and rotate on every refresh (zalo.md §2.3–2.4): two workers
refreshing with the same one lose the grant. So a refresh happens only while holding the
tenant's ``oa_connection`` row lock (``SELECT ... FOR UPDATE``, shared by every process through
PostgreSQL), re-reads the state after acquiring it, and saves the new pair in that same
transaction before anyone uses it. If Zalo refuses the refresh token, the connection is marked
``needs_reconnect`` for admins, never retried in a loop.

Residual risk, documented: if Zalo accepts the refresh but our commit then fails (database lost
at that instant), the new pair is lost and an admin must reconnect. The window is one UPDATE.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from motcua.channels.zalo.client import OAuthError, TokenPair, ZaloClient
from motcua.crypto import get_secret, put_secret

if TYPE_CHECKING:
    import asyncpg

    from motcua.runtime import Runtime

ACCESS = "zalo.access_token"
REFRESH = "zalo.refresh_token"
APP_SECRET = "zalo.app_secret"
SECRET_KEY = "zalo.secret_key"
REFRESH_AHEAD = timedelta(hours=5)  # refresh proactively when fewer than this remain (§9)
REFRESH_TOKEN_LIFETIME = timedelta(days=90)  # "3 tháng" (§2.3)
REFRESH_EVERY = timedelta(minutes=30)  # the schedule that checks; refreshes only when due
CACHE_SECONDS = 30.0


class NotConnected(Exception):
    """The tenant's OA has no usable tokens: an admin must connect (or reconnect) it."""


@dataclass(frozen=True, slots=True)
class RefreshOutcome:
    token: str | None
    refreshed: bool = False
    needs_reconnect: bool = False


def _cache(rt: Runtime) -> dict[str, tuple[float, str]]:
    return rt.state.setdefault("zalo.access_tokens", {})


def forget(rt: Runtime, slug: str) -> None:
    _cache(rt).pop(slug, None)


async def store_tokens(conn: asyncpg.Connection, rt: Runtime, slug: str, oa_id: str, pair: TokenPair) -> None:
    """Save a token pair (encrypted) and mark the OA connected; schedules the refresh check.
    In the caller's tenant transaction."""
    await put_secret(conn, rt.crypto, slug, ACCESS, pair.access_token)
    await put_secret(conn, rt.crypto, slug, REFRESH, pair.refresh_token)
    await conn.execute(
        """INSERT INTO oa_connection (tenant_id, oa_id, status, access_expires_at, refresh_expires_at, refreshed_at)
           VALUES ($1, $2, 'connected', clock_timestamp() + make_interval(secs => $3),
                   clock_timestamp() + make_interval(secs => $4), clock_timestamp())
           ON CONFLICT (tenant_id) DO UPDATE SET oa_id = $2, status = 'connected',
             access_expires_at = excluded.access_expires_at, refresh_expires_at = excluded.refresh_expires_at,
             refreshed_at = excluded.refreshed_at, refresh_count = oa_connection.refresh_count + 1,
             last_error = NULL, updated_at = now()""",
        slug, oa_id, float(pair.expires_in), REFRESH_TOKEN_LIFETIME.total_seconds())
    await conn.execute(
        """INSERT INTO schedule (tenant_id, kind, every, next_run_at)
           VALUES ($1, 'zalo.refresh_token', make_interval(secs => $2), now() + make_interval(secs => $2)),
                  ($1, 'zalo.cleanup', interval '1 day', now() + interval '1 hour')
           ON CONFLICT (tenant_id, kind) DO NOTHING""", slug, REFRESH_EVERY.total_seconds())
    _cache(rt)[slug] = (time.monotonic() + CACHE_SECONDS, pair.access_token)


async def access_token(rt: Runtime, slug: str) -> str:
    """The OA access token to call Zalo with (cached briefly; refreshed first if it expires
    within a minute). Raises ``NotConnected``."""
    hit = _cache(rt).get(slug)
    if hit and hit[0] > time.monotonic():
        return hit[1]
    async with rt.db.tenant(slug) as conn:
        row = await conn.fetchrow("SELECT status, access_expires_at < now() + interval '1 minute' AS expiring "
                                  "FROM oa_connection WHERE tenant_id = $1", slug)
        if row is None or row["status"] != "connected":
            raise NotConnected(f"Zalo OA of {slug} is not connected" if row is None else
                               f"Zalo OA of {slug} needs to be reconnected")
        token = await get_secret(conn, rt.crypto, slug, ACCESS)
        if token and not row["expiring"]:
            _cache(rt)[slug] = (time.monotonic() + CACHE_SECONDS, token)
            return token
    return await refresh_now(rt, slug, stale=token)


async def refresh_now(rt: Runtime, slug: str, *, stale: str | None = None) -> str:
    """Refresh in a transaction of its own (used when a call failed with an expired token:
    ``stale`` is the token that failed; if another worker already replaced it, no call is made)."""
    async with rt.db.tenant(slug) as conn:
        outcome = await refresh(conn, rt, slug, stale=stale, force=stale is not None)
    if outcome.token is None:
        raise NotConnected(f"Zalo OA of {slug} needs to be reconnected")
    return outcome.token


async def refresh(conn: asyncpg.Connection, rt: Runtime, slug: str, *, stale: str | None = None,
                  force: bool = False, ahead: timedelta = REFRESH_AHEAD) -> RefreshOutcome:
    """Refresh the OA's tokens if they are due (or ``force``), serialised across every worker by
    the ``oa_connection`` row lock, inside the caller's tenant transaction (which must commit for
    the new pair — or the ``needs_reconnect`` mark — to count)."""
    seen = await conn.fetchval("SELECT refresh_count FROM oa_connection WHERE tenant_id = $1", slug)
    row = await conn.fetchrow(
        "SELECT oa_id, status, refresh_count, access_expires_at, access_expires_at < now() + make_interval(secs => $2)"
        " AS due FROM oa_connection WHERE tenant_id = $1 FOR UPDATE", slug, ahead.total_seconds())
    if row is None:
        return RefreshOutcome(None, needs_reconnect=True)
    current = await get_secret(conn, rt.crypto, slug, ACCESS)
    if row["status"] != "connected":
        return RefreshOutcome(None, needs_reconnect=True)
    if row["refresh_count"] != seen or (stale is not None and current != stale):
        _cache(rt)[slug] = (time.monotonic() + CACHE_SECONDS, current or "")
        return RefreshOutcome(current)  # another worker refreshed while we waited for the lock
    if not force and not row["due"]:
        return RefreshOutcome(current)
    tenant = await rt.tenant(slug)
    if tenant is None or tenant.file.zalo is None:
        return RefreshOutcome(None, needs_reconnect=True)
    refresh_token = await get_secret(conn, rt.crypto, slug, REFRESH)
    app_secret = await get_secret(conn, rt.crypto, slug, APP_SECRET)
    if not refresh_token or not app_secret:
        await _mark_needs_reconnect(conn, slug, "no refresh token or app secret stored")
        return RefreshOutcome(None, needs_reconnect=True)
    client = ZaloClient(rt.http, rt.settings.zalo, timeout=15.0)
    try:
        pair = await client.refresh(app_id=tenant.file.zalo.app_id, app_secret=app_secret, refresh_token=refresh_token)
    except OAuthError as exc:  # invalid or used refresh token: only a person can fix it
        forget(rt, slug)
        await _mark_needs_reconnect(conn, slug, f"refresh refused: {exc.code} {exc.message}"[:500])
        return RefreshOutcome(None, needs_reconnect=True)
    await store_tokens(conn, rt, slug, row["oa_id"], pair)
    return RefreshOutcome(pair.access_token, refreshed=True)


async def _mark_needs_reconnect(conn: asyncpg.Connection, slug: str, reason: str) -> None:
    await conn.execute("UPDATE oa_connection SET status = 'needs_reconnect', last_error = $2, updated_at = now() "
                       "WHERE tenant_id = $1", slug, reason)


async def connection_state(conn: asyncpg.Connection, slug: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        "SELECT oa_id, status, access_expires_at, refresh_expires_at, connected_at, refreshed_at, last_error "
        "FROM oa_connection WHERE tenant_id = $1", slug)
    return dict(row) if row else None


async def refresh_job(job: Any, ctx: Any) -> None:
    """``zalo.refresh_token``: scheduled per tenant; refreshes only when fewer than 5 h remain."""
    await refresh(ctx.conn, ctx.runtime, ctx.tenant_id)
