"""Benchmark 5: sync ingest of 100,000 changed dossiers against a raw COPY of the same rows.

    uv run python -m tests.bench.sync_ingest [--dossiers 100000] [--page 500]

Ours: ``upsert_dossiers`` (prepare: normalise codes, hash personal numbers; then the bulk upsert
with timeline events and their ``dossiers.event`` jobs), one tenant transaction per change-feed
page, as ``sync.poll`` does. Twice: first every dossier is new, then every one changes status.
Baseline: ``COPY`` of the same prepared rows into ``dossier`` (no events, no jobs, no checks):
the floor of what writing these rows costs.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from datetime import UTC, datetime, timedelta

from tests.bench.harness import environment, report

SLUG = "ca-mau"


BASE = datetime.now(UTC).replace(microsecond=0)


def dossiers(n: int, status: str, raw: str, *, later: float = 0.0):
    """``n`` dossiers; the same codes, applicants and dates every call, reported ``later`` s after BASE."""
    from motcua.onestop.records import Agency, Dossier, RawStatus, Status

    rnd = random.Random(11)
    now = BASE + timedelta(seconds=later)
    out = []
    for i in range(n):
        received = BASE - timedelta(days=rnd.randint(1, 30))
        out.append(Dossier(code=f"000.00.07.H12-251120-{i:07d}", status=Status(status), raw_status=RawStatus(raw),
                           procedure_code="1.000893", procedure_name="Đăng ký khai sinh",
                           agency=Agency("000.00.07.H12", "UBND xã Tân Thành"), applicant_name="Nguyễn Văn A",
                           applicant_phone=f"09{rnd.randint(10_000_000, 99_999_999)}", received_at=received,
                           due_at=received + timedelta(days=5), updated_at=now))
    return out


async def main(n: int, page: int) -> None:
    async with environment() as env:
        from motcua.db.database import connect
        from motcua.domain.dossiers.store import prepare, upsert_dossiers

        db, crypto = env.runtime.db, env.runtime.crypto

        async def ingest(records) -> tuple[float, int]:
            started = time.perf_counter()
            events = 0
            for i in range(0, len(records), page):
                async with db.tenant(SLUG) as conn:
                    result = await upsert_dossiers(conn, crypto, SLUG, records[i:i + page])
                events += result.events
            return time.perf_counter() - started, events

        created = dossiers(n, "received", "2")
        create_s, create_events = await ingest(created)
        # Autovacuum analyzes a table this size within a minute; without fresh statistics the
        # planner misjudges the upsert's joins and pages slow down as the table grows (measured:
        # 0.1 s per 500-dossier page with statistics, 1-3 s without). See RESULTS.md.
        owner = await connect(env.database.owner_url)
        await owner.execute("ANALYZE dossier; ANALYZE dossier_event; ANALYZE job")
        await owner.close()
        changed = dossiers(n, "processing", "4", later=3600)
        change_s, change_events = await ingest(changed)

        # Baseline: the same prepared rows, COPYed into another tenant in one statement.
        prepared = [prepare(crypto, "an-giang", d) for d in changed]
        owner = await connect(env.database.owner_url)
        names = ["code", "code_key", "status", "raw_status", "procedure_code", "procedure_name", "agency_code",
                 "agency_name", "applicant_name", "applicant_key", "received_at", "due_at", "source_updated_at"]
        started = time.perf_counter()
        await owner.copy_records_to_table(
            "dossier", columns=["tenant_id", *names],
            records=[("an-giang", *(getattr(p, c) for c in names)) for p in prepared])
        copy_s = time.perf_counter() - started
        await owner.close()
        report("sync ingest of changed dossiers vs raw COPY", dossiers=n, page=page,
               create_s=round(create_s, 1), create_rps=round(n / create_s), create_events=create_events,
               change_s=round(change_s, 1), change_rps=round(n / change_s), change_events=change_events,
               copy_s=round(copy_s, 1), copy_rps=round(n / copy_s),
               ratio_change_vs_copy=round(copy_s / change_s, 3), ratio_create_vs_copy=round(copy_s / create_s, 3))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--dossiers", type=int, default=100_000)
    ap.add_argument("--page", type=int, default=500)
    a = ap.parse_args()
    asyncio.run(main(a.dossiers, a.page))
