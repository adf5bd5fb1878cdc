"""The timeline upsert: rows, events, aliases, jobs; idempotent replays; no plain personal numbers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from motcua.domain.dossiers.store import get_dossier, timeline, unknown_statuses, upsert_dossiers
from motcua.onestop.records import Status
from motcua.worker import Worker

from .conftest import RECORDER, T0, dossier, snapshot


A = "000.00.07.H12-251119-0001"
B = "000.00.07.H12-251119-0002"


@pytest.fixture(scope="module")
async def tenant(apply):
    return await apply("store-test", "X11")


async def _upsert(rt, tenant, dossiers):
    async with rt.db.tenant(tenant) as conn:
        return await upsert_dossiers(conn, rt.crypto, tenant, dossiers)


async def test_a_new_page_creates_dossiers_events_aliases_and_one_job_per_event(sync_runtime, tenant):
    page = [dossier(A, applicant_phone="0912 345 678", applicant_id_number="096123456789",
                    alt_codes=["BL-2025-0001", A.lower()]),
            dossier(B, Status.supplement_required, "5", missing_papers=["Giấy chứng sinh"], note="Thiếu giấy chứng sinh")]
    result = await _upsert(sync_runtime, tenant, page)
    assert (result.created, result.updated, result.events, result.aliases) == (2, 0, 2, 1)
    async with sync_runtime.db.tenant(tenant) as conn:
        a = await get_dossier(conn, " 000.00.07.h12 - 251119 - 0001 ")
        assert a is not None and a.status == Status.received and a.agency_code == "000.00.07.H12"
        assert (await get_dossier(conn, "bl 2025 0001")).id == a.id  # found by its other code too
        b = await get_dossier(conn, B)
        assert b.missing_papers == ["Giấy chứng sinh"] and b.note == "Thiếu giấy chứng sinh"
        assert [e.kind for e in await timeline(conn, a.id)] == ["created"]
        jobs = await conn.fetch("SELECT payload FROM job WHERE kind = 'dossiers.event' ORDER BY id")
        events = await conn.fetch("SELECT id FROM dossier_event ORDER BY id")
        assert [j["payload"]["event_id"] for j in jobs] == [e["id"] for e in events]
        # Personal numbers are kept only as keyed hashes: the plain digits are nowhere in the row.
        row = await conn.fetchrow("SELECT * FROM dossier WHERE id = $1", a.id)
        text = " ".join(str(v) for v in row.values())
        assert "912345678" not in text and "096123456789" not in text
        assert row["applicant_key"] == sync_runtime.crypto.lookup_key(tenant, "phone", "84912345678")
        assert row["applicant_id_key"] == sync_runtime.crypto.lookup_key(tenant, "id", "096123456789")


async def test_replaying_a_page_changes_nothing(sync_runtime, tenant):
    page = [dossier(A, applicant_phone="0912 345 678", alt_codes=["BL-2025-0001"]),
            dossier(B, Status.supplement_required, "5", missing_papers=["Giấy chứng sinh"], note="Thiếu giấy chứng sinh")]
    before = await snapshot(sync_runtime, tenant)
    result = await _upsert(sync_runtime, tenant, page)
    assert (result.created, result.updated, result.events) == (0, 0, 0)
    assert await snapshot(sync_runtime, tenant) == before


async def test_changes_become_timeline_events_with_what_came_before(sync_runtime, tenant):
    later = T0 + timedelta(days=2)
    new_due = T0 + timedelta(days=6)
    result = await _upsert(sync_runtime, tenant, [
        dossier(A, Status.processing, "4", updated_at=later, handler="Trần Thị Bích"),
        dossier(B, Status.supplement_required, "5", updated_at=later, due_at=new_due,
                missing_papers=["Giấy chứng sinh"], note="Xin lỗi: hẹn lại ngày trả"),
    ])
    assert (result.updated, result.events) == (2, 2)
    async with sync_runtime.db.tenant(tenant) as conn:
        a = await get_dossier(conn, A)
        events = await timeline(conn, a.id)
        assert [(e.kind, e.status) for e in events] == [("created", "received"), ("status_changed", "processing")]
        assert events[-1].data["previous_status"] == "received" and events[-1].at == later
        assert a.handler == "Trần Thị Bích"
        b = await get_dossier(conn, B)
        due = [e for e in await timeline(conn, b.id) if e.kind == "due_changed"]
        assert len(due) == 1 and due[0].note == "Xin lỗi: hẹn lại ngày trả"
        assert due[0].data["previous_due_at"].startswith("2025-11-22") and b.due_at == new_due


async def test_an_older_report_does_not_undo_a_newer_one(sync_runtime, tenant):
    before = await snapshot(sync_runtime, tenant)
    await _upsert(sync_runtime, tenant, [dossier(A, Status.received, "2", at=T0)])  # older than "processing"
    assert await snapshot(sync_runtime, tenant) == before


async def test_an_unknown_raw_status_is_kept_and_flagged_never_guessed(sync_runtime, tenant):
    code = "000.00.07.H12-251119-0003"
    await _upsert(sync_runtime, tenant, [dossier(code, Status.unknown, "42", raw_label="Chờ ký số")])
    async with sync_runtime.db.tenant(tenant) as conn:
        d = await get_dossier(conn, code)
        assert (d.status, d.raw_status, d.raw_label) == (Status.unknown, "42", "Chờ ký số")
        assert [e.kind for e in await timeline(conn, d.id)] == ["created", "unknown_status"]
        flagged = await unknown_statuses(conn)
    assert [(u.raw_status, u.raw_label, u.dossiers) for u in flagged] == [("42", "Chờ ký số", 1)]


async def test_two_changes_of_one_dossier_in_one_page_are_both_in_the_timeline(sync_runtime, tenant):
    code = "000.00.07.H12-251119-0004"
    t1, t2 = T0 + timedelta(hours=1), T0 + timedelta(hours=5)
    result = await _upsert(sync_runtime, tenant, [
        dossier(code, Status.received, "2"),
        dossier(code, Status.processing, "4", updated_at=t1),
        dossier(code, Status.resolved, "9", updated_at=t2, finished_at=t2),
    ])
    assert result.events == 3
    async with sync_runtime.db.tenant(tenant) as conn:
        d = await get_dossier(conn, code)
        assert d.status == Status.resolved
        events = await timeline(conn, d.id)
    assert [e.status for e in events] == ["received", "processing", "resolved"]
    assert events[-1].data["timing"] == "early"  # finished two days before its due date


async def test_subscribers_get_each_new_event_once_with_the_dossier(sync_runtime, tenant):
    await Worker(sync_runtime).run_until_idle()
    got = RECORDER.kinds(tenant)
    assert (A, "created", "received") in got and (A, "status_changed", "processing") in got
    assert len(got) == len(set((c, k, s) for c, k, s in got))
    async with sync_runtime.db.tenant(tenant) as conn:
        assert await conn.fetchval("SELECT count(*) FROM job WHERE kind = 'dossiers.event'") == 0
        assert await conn.fetchval("SELECT count(*) FROM dossier_event") == len(got)


async def test_a_big_page_is_two_statements_whatever_its_size(sync_runtime, apply):
    slug = await apply("store-bulk", "X12")
    page = [dossier(f"000.00.07.X12-251119-{i:04d}", applicant_phone=f"09{i:08d}") for i in range(1, 1001)]

    class Counting:
        def __init__(self, conn):
            self.conn, self.calls = conn, 0

        def __getattr__(self, name):
            attr = getattr(self.conn, name)
            if name in {"execute", "fetch", "fetchrow", "fetchval", "executemany", "copy_records_to_table"}:
                self.calls += 1
            return attr

    async with sync_runtime.db.tenant(slug) as conn:
        counting = Counting(conn)
        result = await upsert_dossiers(counting, sync_runtime.crypto, slug, page)
    assert (result.created, result.events, counting.calls) == (1000, 1000, 2)
    async with sync_runtime.db.tenant(slug) as conn:
        assert await conn.fetchval("SELECT count(*) FROM job WHERE kind = 'dossiers.event'") == 1000
        await conn.execute("DELETE FROM job")
