"""The poll: paging with a durable cursor, resuming after a crash, quarantine, outages, schedules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY

from motcua.domain.dossiers.store import get_dossier
from motcua.jobs import enqueue
from motcua.onestop.contract import Unavailable
from motcua.onestop.records import Agency, Procedure, Quarantined, Status
from motcua.sync.engine import health, poll
from motcua.sync.procedures import upsert_procedures
from motcua.worker import Worker

from .conftest import SYSTEMS, T0, dossier, snapshot


def code(h: str, n: int) -> str:
    return f"000.00.07.{h}-251119-{n:04d}"


async def _jobs(rt, tenant) -> list[dict]:
    async with rt.db.tenant(tenant) as conn:
        return [dict(r) for r in await conn.fetch("SELECT kind, status, run_at, attempts, last_error FROM job ORDER BY id")]


async def test_a_poll_pages_to_the_end_and_resumes_from_its_cursor(sync_runtime, apply):
    slug = await apply("poll-pages", "X21")
    system = SYSTEMS[slug]
    for n in range(1, 8):
        system.put(dossier(code("X21", n)))
    pages = []
    report = await poll(sync_runtime, slug, on_page=lambda r: pages.append(r.pages))
    assert (report.pages, report.dossiers, report.created, report.cursor) == (3, 7, 7, "7")
    assert pages == [1, 2, 3]
    # The next poll starts where this one stopped: only the new change comes back.
    system.change(code("X21", 2), status=Status.processing, raw_status=dossier("x", raw="4").raw_status,
                  updated_at=T0 + timedelta(hours=2))
    report = await poll(sync_runtime, slug)
    assert (report.pages, report.dossiers, report.updated, report.events) == (1, 1, 1, 1)
    assert [c for c in system.calls if c[0] == "changes"][-1] == ("changes", "7")
    h = await health(sync_runtime, slug)
    assert h.healthy and h.failures == 0 and h.lag_seconds < 60 and h.dossiers == 7
    lag = REGISTRY.get_sample_value("motcua_sync_lag_seconds", {"tenant": slug})
    assert lag is not None and 0 <= lag < 60


async def test_a_crash_mid_feed_keeps_the_pages_stored_and_resumes_after_them(sync_runtime, apply):
    slug = await apply("poll-crash", "X22")
    system = SYSTEMS[slug]
    for n in range(1, 8):
        system.put(dossier(code("X22", n)))
    system.fail_at_page = 2
    with pytest.raises(Unavailable):
        await poll(sync_runtime, slug)
    async with sync_runtime.db.tenant(slug) as conn:
        state = await conn.fetchrow("SELECT * FROM sync_state")
        stored = await conn.fetchval("SELECT count(*) FROM dossier")
    assert (state["cursor"], stored, state["failures"]) == ("3", 3, 1)
    assert "503" in state["last_error"] and state["last_success_at"] is None
    h = await health(sync_runtime, slug)
    assert not h.healthy and h.failures == 1 and "Unavailable" in h.last_error

    system.fail_at_page = None
    report = await poll(sync_runtime, slug)
    asked = [c[1] for c in system.calls if c[0] == "changes"]
    assert asked[-2:] == ["3", "6"]  # resumed after the stored page; nothing fetched twice
    assert (report.created, report.dossiers) == (4, 4)
    assert (await health(sync_runtime, slug)).failures == 0


async def test_quarantined_records_are_kept_once_with_their_reason(sync_runtime, apply):
    slug = await apply("poll-quarantine", "X23")
    system = SYSTEMS[slug]
    system.put(dossier(code("X23", 1)))
    system.log.append(Quarantined(reason="NgayHenTra không phải ngày: '31/02/2025'", raw='{"MaHoSo": "x"}',
                                  code="000.00.07.X23-251119-0002"))
    system.put(dossier(code("X23", 3)))
    await poll(sync_runtime, slug)
    before = await snapshot(sync_runtime, slug)
    assert len(before["quarantine"]) == 1 and "31/02/2025" in before["quarantine"][0]
    # The feed replayed from the start (a cursor lost by the system): nothing new is written.
    async with sync_runtime.db.tenant(slug) as conn:
        await conn.execute("UPDATE sync_state SET cursor = NULL")
    await poll(sync_runtime, slug)
    after = await snapshot(sync_runtime, slug)
    assert after["quarantine"] == before["quarantine"] and after["dossier"] == before["dossier"]
    assert after["dossier_event"] == before["dossier_event"]
    assert (await health(sync_runtime, slug)).quarantined == 1


async def test_applying_a_tenant_schedules_its_sync_and_runs_the_first_poll(sync_runtime, apply):
    slug = await apply("poll-schedule", "X24")
    SYSTEMS[slug].put(dossier(code("X24", 1)))
    SYSTEMS[slug].procedures = [Procedure(code="1.001193", name="Đăng ký khai sinh", sector="Hộ tịch",
                                          agency=Agency(code="000.20.01.X24", name="UBND xã"), online=True,
                                          processing_days=1)]
    await Worker(sync_runtime).run_until_idle()
    async with sync_runtime.db.tenant(slug) as conn:
        schedules = {r["kind"]: r["every"] for r in await conn.fetch(
            "SELECT kind, every FROM schedule WHERE kind LIKE 'sync.%' OR kind LIKE 'procedures.%'")}
        assert schedules == {"sync.poll": timedelta(minutes=5), "procedures.refresh": timedelta(days=1)}
        assert (await get_dossier(conn, code("X24", 1))).status == Status.received
        assert await conn.fetchval("SELECT search_key FROM procedure WHERE code = '1.001193'") == "dang ky khai sinh ho tich"
        assert await conn.fetchval("SELECT count(*) FROM job") == 0  # the events were delivered too


async def test_push_systems_get_a_nightly_reconciliation_not_a_poll(sync_runtime, apply):
    slug = await apply("poll-push-schedule", "X25", family="memory-push", secret="s")
    await Worker(sync_runtime).run_until_idle()
    async with sync_runtime.db.tenant(slug) as conn:
        rows = await conn.fetch("SELECT kind, every, payload, next_run_at FROM schedule WHERE kind LIKE 'sync.%'")
    assert [(r["kind"], r["every"], r["payload"]) for r in rows] == [("sync.reconcile", timedelta(days=1), {"hours": 26})]
    local = rows[0]["next_run_at"].astimezone(__import__("zoneinfo").ZoneInfo("Asia/Ho_Chi_Minh"))
    assert (local.hour, local.minute) == (2, 0) and rows[0]["next_run_at"] > datetime.now(UTC)


async def test_one_province_down_is_retried_with_backoff_and_never_delays_another(sync_runtime, apply):
    down = await apply("poll-down", "X26")
    up = await apply("poll-up", "X27")
    await Worker(sync_runtime).run_until_idle()  # the first polls from tenants.applied
    SYSTEMS[down].put(dossier(code("X26", 1)))
    SYSTEMS[up].put(dossier(code("X27", 1)))
    SYSTEMS[down].down = True
    for slug in (down, up):
        async with sync_runtime.db.tenant(slug) as conn:
            await enqueue(conn, slug, "sync.poll", {}, dedupe_key="schedule:sync.poll")
    await Worker(sync_runtime).run_until_idle()
    async with sync_runtime.db.tenant(up) as conn:
        assert (await get_dossier(conn, code("X27", 1))) is not None
    [job] = await _jobs(sync_runtime, down)
    assert job["kind"] == "sync.poll" and job["status"] == "queued" and job["attempts"] == 0
    assert job["run_at"] > datetime.now(UTC) + timedelta(seconds=5)  # backed off, not counted as a failure
    assert "503" in job["last_error"]
    first_delay = job["run_at"]
    # Another failure doubles the wait.
    async with sync_runtime.db.tenant(down) as conn:
        await conn.execute("UPDATE job SET run_at = now()")
    await Worker(sync_runtime).run_until_idle()
    [job] = await _jobs(sync_runtime, down)
    h = await health(sync_runtime, down)
    assert h.failures == 2 and job["run_at"] - datetime.now(UTC) > (first_delay - datetime.now(UTC)) * 1.2
    SYSTEMS[down].down = False
    async with sync_runtime.db.tenant(down) as conn:
        await conn.execute("UPDATE job SET run_at = now()")
    await Worker(sync_runtime).run_until_idle()
    assert (await health(sync_runtime, down)).failures == 0
    assert await _jobs(sync_runtime, down) == []


async def test_the_catalogue_upsert_is_idempotent_and_drops_what_the_province_removed(sync_runtime, apply):
    slug = await apply("catalogue", "X28")
    p1 = Procedure(code="1.001193", name="Đăng ký khai sinh", sector="Hộ tịch", processing_days=1.5, fee="Miễn lệ phí")
    p2 = Procedure(code="2.000001", name="Cấp giấy phép xây dựng", sector="Xây dựng", processing_days=15)
    async with sync_runtime.db.tenant(slug) as conn:
        first = await upsert_procedures(conn, slug, [p1, p2])
        again = await upsert_procedures(conn, slug, [p1, p2])
        fewer = await upsert_procedures(conn, slug, [p1])
        empty = await upsert_procedures(conn, slug, [])  # a fault, not a province without procedures
        rows = await conn.fetch("SELECT code, processing_days FROM procedure ORDER BY code")
    assert (first.changed, again.changed, fewer.removed, empty.removed) == (2, 0, 1, 0)
    assert [(r["code"], float(r["processing_days"])) for r in rows] == [("1.001193", 1.5)]
