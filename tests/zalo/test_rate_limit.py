"""The per-OA send rate limit lives in PostgreSQL, so every worker process shares it."""

from __future__ import annotations

import asyncio
import secrets

from motcua.db.database import bind_tenant, connect


async def take(database, oa: str, rate: float, burst: int) -> float:
    conn = await connect(database.app_url)  # a separate connection, as another worker process would have
    try:
        async with conn.transaction():
            await bind_tenant(conn, "ca-mau")
            return await conn.fetchval("SELECT motcua_zalo_take('ca-mau', $1, $2, $3)", oa, rate, burst)
    finally:
        await conn.close()


async def test_slots_are_shared_across_connections_and_refill_at_the_rate(database, tenants):
    oa = "rate-" + secrets.token_hex(4)
    waits = await asyncio.gather(*(take(database, oa, 5.0, 3) for _ in range(8)))
    granted = [w for w in waits if w == 0]
    assert len(granted) in (3, 4)  # the burst, plus at most one slot that refilled meanwhile
    assert all(0 < w <= 8 / 5.0 for w in waits if w)  # the others are told how long to wait
    await asyncio.sleep(max(waits) + 0.05)
    assert await take(database, oa, 5.0, 3) == 0
    # Another OA (another tenant's app) has its own budget.
    assert await take(database, oa + "-other", 5.0, 3) == 0
