"""End to end against the real adapter families and their sandbox one-stop systems, over HTTP:
Cà Mau (igate, polled), Đồng Nai (push), and a fourth province added by a tenant file only."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest

from motcua.db.database import connect
from motcua.domain.dossiers.lookup import lookup, resolve_tenant_for_code
from motcua.domain.dossiers.store import get_dossier, timeline
from motcua.onestop.contract import Unavailable
from motcua.onestop.records import Status
from motcua.onestop.sandbox import sandboxes
from motcua.onestop.sandbox_world import SandboxControl
from motcua.sync.engine import health, poll
from motcua.tenancy.apply import apply_all
from motcua.tenancy.loader import load_dir
from motcua.worker import Worker

from ..conftest import free_port

DATA = Path(__file__).parent / "data"


@pytest.fixture
async def control(tenants):
    made: list[SandboxControl] = []

    def _control(slug: str) -> SandboxControl:
        made.append(SandboxControl(tenants.sandbox_urls[slug]))
        return made[-1]

    yield _control
    for c in made:
        await c.clear_faults()
        await c.aclose()


async def test_ca_mau_down_with_503_still_answers_with_the_last_known_status_and_its_age(runtime, tenants, control):
    ctl = control("ca-mau")
    code = (await ctl.create(status="processing"))["code"]
    live = await lookup(runtime, "ca-mau", code.lower().replace(".", " "))
    assert live.source == "live" and live.dossier.status == Status.processing and not live.stale
    await ctl.move(code, "resolved")  # the system moves on, then goes down before we hear of it
    await ctl.fault(status=503)
    cached = await lookup(runtime, "ca-mau", code)
    assert cached.stale and cached.source == "cache" and cached.dossier.status == Status.processing
    assert cached.as_of <= live.as_of and cached.age_seconds >= 0
    with pytest.raises(Unavailable):
        await poll(runtime, "ca-mau")
    h = await health(runtime, "ca-mau")
    assert h.failures >= 1 and "503" in (h.last_error or "")
    await ctl.clear_faults()
    fresh = await lookup(runtime, "ca-mau", code)
    assert fresh.source == "live" and fresh.dossier.status == Status.resolved
    assert [e.status for e in fresh.events][-2:] == ["processing", "resolved"]


async def test_ca_mau_poll_stores_the_feed_and_a_second_poll_has_nothing_new_twice(runtime, tenants, control):
    first = await poll(runtime, "ca-mau")
    assert first.dossiers > 0 and not first.superseded
    async with runtime.db.tenant("ca-mau") as conn:
        codes = [r["code"] for r in await conn.fetch("SELECT code FROM dossier")]
        assert all(re.match(r"^\d{3}\.\d{2}\.\d{2}\.H12-\d{6}-\d{4}$", c) for c in codes), codes[:3]
        events = await conn.fetchval("SELECT count(*) FROM dossier_event")
    again = await poll(runtime, "ca-mau")
    assert again.created == 0  # the cursor moved on: what was stored is not fetched as new again
    async with runtime.db.tenant("ca-mau") as conn:
        assert await conn.fetchval("SELECT count(*) FROM dossier_event") == events + again.events
    assert (await health(runtime, "ca-mau")).healthy


async def test_a_dong_nai_push_delivered_twice_is_stored_once_and_its_dossier_updated(runtime, tenants, control, server):
    await Worker(runtime, tenants=["dong-nai"]).run_until_idle()  # the first reconciliation, before this dossier exists
    ctl = control("dong-nai")
    code = (await ctl.create(status="received"))["code"]
    body, headers = await ctl.push_sample(code)
    url = f"{server}/onestop/dong-nai/events"
    async with httpx.AsyncClient(timeout=10) as client:
        first = await client.post(url, content=body, headers=headers)
        second = await client.post(url, content=body, headers=headers)
        forged = await client.post(url, content=body.replace(b"received", b"returned"), headers=headers)
    assert first.status_code == 200 and first.json()["duplicate"] is False
    assert second.status_code == 200 and second.json()["duplicate"] is True
    assert forged.status_code == 401
    async with runtime.db.tenant("dong-nai") as conn:
        assert await conn.fetchval("SELECT count(*) FROM webhook_event WHERE payload->'dossier'->>'code' = $1", code) == 1
    # The system pushes the next change itself, to our endpoint.
    await ctl.set_push_target(url)
    try:
        await ctl.move(code, "resolved")
        for _ in range(50):
            if any(p["code"] == code and p["response"] == 200 for p in await ctl.pushes()):
                break
            await asyncio.sleep(0.1)
        else:
            pytest.fail(f"the sandbox did not push: {await ctl.pushes()}")
    finally:
        await ctl.set_push_target(None)
    await Worker(runtime, tenants=["dong-nai"]).run_until_idle()
    async with runtime.db.tenant("dong-nai") as conn:
        d = await get_dossier(conn, code)
        assert d.status == Status.resolved
        assert [e.status for e in await timeline(conn, d.id)] == ["received", "resolved"]


async def test_a_fourth_province_is_added_by_its_file_alone_and_synced(runtime, tenants, database, tmp_path, monkeypatch):
    others = sorted(tenants.by_slug)

    async def state_of_others() -> dict[str, tuple]:
        out = {}
        for slug in others:
            async with runtime.db.tenant(slug) as conn:
                out[slug] = (
                    await conn.fetchval("SELECT config_hash || updated_at::text FROM tenant WHERE id = $1", slug),
                    await conn.fetchval("SELECT count(*) || '/' || coalesce(max(synced_at)::text, '') FROM dossier"),
                    await conn.fetchval("SELECT count(*) FROM dossier_event"),
                    await conn.fetchval("SELECT count(*) FROM agency"),
                    await conn.fetchval("SELECT string_agg(kind, ',' ORDER BY kind) FROM schedule"),
                )
        return out

    before = await state_of_others()
    port = free_port()
    text = (DATA / "can-tho.toml").read_text(encoding="utf-8").replace("127.0.0.1:18104", f"127.0.0.1:{port}")
    (tmp_path / "can-tho.toml").write_text(text, encoding="utf-8")
    for env in ("CAN_THO_ZALO_OA_SECRET_KEY", "CAN_THO_ZALO_APP_SECRET", "CAN_THO_IGATE_CLIENT_SECRET"):
        monkeypatch.setenv(env, f"test-{env.lower()}")
    loaded = load_dir(tmp_path, runtime.plugins.adapters)  # what `motcua tenants apply DIR` runs
    assert loaded.problems == []
    conn = await connect(database.owner_url)
    try:
        changes = await apply_all(conn, runtime.crypto, loaded.tenants)
        assert "created" in changes["can-tho"]
        try:
            async with sandboxes(loaded.tenants, runtime.plugins.adapters) as urls:
                assert urls == {"can-tho": f"http://127.0.0.1:{port}"}
                await Worker(runtime, tenants=["can-tho"]).run_until_idle()  # tenants.applied -> schedules, first poll
                async with runtime.db.tenant("can-tho") as tc:
                    codes = [r["code"] for r in await tc.fetch("SELECT code FROM dossier ORDER BY id")]
                    kinds = {r["kind"] for r in await tc.fetch("SELECT kind FROM schedule")}
                    procedures = await tc.fetchval("SELECT count(*) FROM procedure")
                assert codes and all(".H13-" in c for c in codes)
                assert {"sync.poll", "procedures.refresh"} <= kinds and "sync.reconcile" not in kinds
                assert procedures > 0
                assert (await health(runtime, "can-tho")).healthy
                route = await resolve_tenant_for_code(runtime, codes[0])
                assert route.tenant == "can-tho"
                found = await lookup(runtime, "can-tho", codes[0])
                assert found.source == "live" and found.dossier.code == codes[0]
        finally:  # leave the shared database with the demo provinces only
            await conn.execute("UPDATE tenant SET active = false WHERE id = 'can-tho'")
            await conn.execute("DELETE FROM schedule WHERE tenant_id = 'can-tho'")
            await conn.execute("DELETE FROM job WHERE tenant_id = 'can-tho'")
    finally:
        await conn.close()
    assert await state_of_others() == before


async def test_pre_merger_codes_of_the_demo_provinces_route_to_the_merged_province(runtime, tenants):
    bac_lieu = await resolve_tenant_for_code(runtime, "000.00.07.H06-250301-0042")
    binh_phuoc = await resolve_tenant_for_code(runtime, "000.00.13.h10 250301 0007")
    assert (bac_lieu.tenant, bac_lieu.former, bac_lieu.adapter_name) == ("ca-mau", "Tỉnh Bạc Liêu", "")
    assert (binh_phuoc.tenant, binh_phuoc.former) == ("dong-nai", "Tỉnh Bình Phước")
    assert (await resolve_tenant_for_code(runtime, "000.00.07.H12-251119-0001")).former is None
