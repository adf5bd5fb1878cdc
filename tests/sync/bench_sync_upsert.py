"""Benchmark of the timeline upsert (not collected by pytest): ``uv run python tests/sync/bench_sync_upsert.py``.

Stores 10,000 dossiers in pages of 500 into a fresh database, then replays them (nothing may
change), then reports a status change for all of them (one event each). Prints dossiers/second.
The tables are analysed after the first page, as autovacuum does early in a real backfill:
without statistics PostgreSQL checks the events' foreign keys with sequential scans.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from datetime import UTC, datetime, timedelta

from motcua.crypto import Crypto
from motcua.db.database import Database, connect
from motcua.domain.dossiers.store import upsert_dossiers
from motcua.onestop.records import Agency, Dossier, RawStatus, Status
from motcua.tenancy.apply import apply_tenant
from motcua.tenancy.schema import AdapterConfig, Tenant, TenantFile
from motcua.testing.database import TestDatabase

TOTAL, PAGE = 10_000, 500
T0 = datetime(2025, 11, 19, tzinfo=UTC)


def page(start: int, status: Status = Status.received, raw: str = "2", hours: int = 0) -> list[Dossier]:
    return [Dossier(code=f"000.00.07.H12-251119-{i:05d}", status=status, raw_status=RawStatus(code=raw),
                    procedure_name="Đăng ký khai sinh", agency=Agency(code="000.00.07.H12", name="Sở Tư pháp"),
                    applicant_phone=f"09{i:08d}", received_at=T0, due_at=T0 + timedelta(days=3),
                    updated_at=T0 + timedelta(hours=hours))
            for i in range(start, start + PAGE)]


async def main() -> None:
    db = await TestDatabase.create()
    app = None
    try:
        crypto = Crypto(secrets.token_bytes(32))
        owner = await connect(db.owner_url)
        await apply_tenant(owner, crypto, Tenant(slug="bench", file=TenantFile(
            name="Tỉnh Cà Mau", stat_code="96", agency_code="H12", adapter=AdapterConfig(family="none"))), environ={})
        app = await Database.open(db.app_url, max_size=2)
        for label, make in (("new", page), ("replay", page),
                            ("changed", lambda k: page(k, Status.processing, "4", 1))):
            started, events = time.perf_counter(), 0
            for k in range(0, TOTAL, PAGE):
                async with app.tenant("bench") as conn:
                    events += (await upsert_dossiers(conn, crypto, "bench", make(k))).events
                if k == 0 and label == "new":
                    await owner.execute("ANALYZE dossier, dossier_event")
            took = time.perf_counter() - started
            print(f"{label:8} {TOTAL} dossiers, {events} events, pages of {PAGE}: {took:.2f} s = {TOTAL / took:.0f}/s")
        await owner.close()
    finally:
        if app:
            await app.close()
        await db.drop()


if __name__ == "__main__":
    asyncio.run(main())
