"""Notifications beyond the happy path: the apology when late (with and without a new date),
quiet hours that delay without dropping, and no duplicates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec

from motcua.domain.dossiers.lookup import lookup
from motcua.domain.dossiers.store import upsert_dossiers
from motcua.domain.notifications.service import SWEEP, notify_event
from motcua.jobs import enqueue
from motcua.onestop.codes import normalize_code

from .conftest import text_of

TENANT = "ca-mau"


async def subscribed_dossier(sandbox, phone, status: str = "processing"):
    control = sandbox(TENANT)
    d = await control.create(procedure_code="1.001193", status=status)
    citizen = phone(TENANT)
    await citizen.says(d["code"])  # looking it up subscribes
    return control, d, citizen


async def test_overdue_without_a_new_date_apologises_once(sandbox, phone, runtime, worker):
    _, d, citizen = await subscribed_dossier(sandbox, phone)
    since = await citizen.last_seq()
    async with runtime.db.tenant(TENANT) as conn:  # the due date has passed with no result
        await conn.execute("UPDATE dossier SET due_at = now() - interval '2 days' WHERE code_key = $1",
                           normalize_code(d["code"]))
    for _ in range(2):  # the hourly sweep, twice
        async with runtime.db.tenant(TENANT) as conn:
            await enqueue(conn, TENANT, SWEEP, {})
        await worker.run_until_idle()
    apologies = [m for m in await citizen.inbox(since) if "xin lỗi" in text_of(m)]
    assert len(apologies) == 1
    assert "phiếu xin lỗi và hẹn lại" in text_of(apologies[0])


async def test_a_new_due_date_brings_the_apology_with_old_and_new_dates(sandbox, phone, runtime, worker):
    _, d, citizen = await subscribed_dossier(sandbox, phone)
    since = await citizen.last_seq()
    adapter = await runtime.adapter(TENANT)
    record = await adapter.lookup(d["code"])
    old_due = record.due_at
    later = msgspec.structs.replace(record, due_at=old_due + timedelta(days=3), note="Chờ xác minh thông tin")
    async with runtime.db.tenant(TENANT) as conn:  # what the sync stores when the system reschedules
        await upsert_dossiers(conn, runtime.crypto, TENANT, [later])
    await worker.run_until_idle()
    texts = [text_of(m) for m in await citizen.inbox(since)]
    apology = [t for t in texts if "xin lỗi" in t]
    assert len(apology) == 1, texts
    vn = ZoneInfo("Asia/Ho_Chi_Minh")
    assert old_due.astimezone(vn).strftime("%d/%m/%Y") in apology[0]
    assert (old_due + timedelta(days=3)).astimezone(vn).strftime("%d/%m/%Y") in apology[0]


async def test_quiet_hours_delay_the_message_to_the_morning_and_never_twice(sandbox, phone, runtime, worker):
    control, d, citizen = await subscribed_dossier(sandbox, phone)
    since = await citizen.last_seq()
    await control.move(d["code"], "resolved")
    await lookup(runtime, TENANT, d["code"])  # stores the event and enqueues its delivery
    vn = ZoneInfo("Asia/Ho_Chi_Minh")
    late_evening = datetime.now(vn).replace(hour=22, minute=15, second=0, microsecond=0)
    async with runtime.db.tenant(TENANT) as conn:
        event_id = await conn.fetchval(
            """SELECT e.id FROM dossier_event e JOIN dossier x ON x.tenant_id = e.tenant_id AND x.id = e.dossier_id
               WHERE x.code_key = $1 AND e.status = 'resolved'""", normalize_code(d["code"]))
        assert await notify_event(conn, runtime, TENANT, event_id, now=late_evening) == 1
    await worker.run_until_idle()  # the event's own delivery finds the message already planned
    async with runtime.db.tenant(TENANT) as conn:
        jobs = await conn.fetch("SELECT run_at FROM job WHERE kind = 'notifications.send' AND dedupe_key LIKE $1",
                                f"notify:{event_id}:%")
        assert len(jobs) == 1
        morning = (late_evening + timedelta(days=1)).replace(hour=7, minute=0)
        assert jobs[0]["run_at"] == morning.astimezone(UTC)
        await conn.execute("DELETE FROM job WHERE kind = 'notifications.send' AND dedupe_key LIKE $1",
                           f"notify:{event_id}:%")
    assert await citizen.inbox(since) == []
