"""Push intake over HTTP: signed events stored once and applied by the worker; rejections write
nothing; the sync health API; the ``motcua sync`` command."""

from __future__ import annotations

import argparse
import io
import time
from datetime import datetime, timedelta

import httpx
import msgspec
import pytest

from motcua.domain.dossiers.store import get_dossier, timeline
from motcua.onestop.records import PushedChange, Status
from motcua.sync.cli import run_sync
from motcua.worker import Worker

from ..conftest import free_port
from .conftest import SYSTEMS, T0, dossier, sign, snapshot

SECRET = "bí-mật-đẩy"
CODE = "000.00.07.X41-251119-0007"


@pytest.fixture(scope="module")
async def app_url(sync_runtime):
    from motcua.app import create_app
    from motcua.onestop.sandbox import serve_app, stop_server

    port = free_port()
    srv = await serve_app(create_app(runtime=sync_runtime), "127.0.0.1", port)
    yield f"http://127.0.0.1:{port}"
    await stop_server(srv)


@pytest.fixture(scope="module")
async def pusher(apply, sync_runtime):
    slug = await apply("push-dn", "X41", family="memory-push", secret=SECRET)
    await Worker(sync_runtime).run_until_idle()
    return slug


@pytest.fixture
async def client(app_url):
    async with httpx.AsyncClient(base_url=app_url, timeout=10) as c:
        yield c


def body(event_id: str, status: Status, raw: str, at: datetime, **kw) -> bytes:
    change = PushedChange(event_id=event_id, dossier=dossier(CODE, status, raw, updated_at=at,
                                                               applicant_phone="0911 222 333", **kw))
    return msgspec.json.encode([change])


async def test_a_pushed_event_delivered_twice_is_stored_once_and_updates_the_dossier(sync_runtime, pusher, client):
    payload = body("evt-1", Status.received, "2", T0)
    first = await client.post(f"/onestop/{pusher}/events", content=payload, headers=sign(SECRET, payload))
    again = await client.post(f"/onestop/{pusher}/events", content=payload, headers=sign(SECRET, payload))
    assert first.status_code == 200 and first.json()["accepted"] == 1 and first.json()["duplicate"] is False
    assert again.status_code == 200 and again.json()["duplicate"] is True
    async with sync_runtime.db.tenant(pusher) as conn:
        stored = await conn.fetch("SELECT event_key, payload::text AS payload FROM webhook_event")
        assert [r["event_key"] for r in stored] == ["evt-1"]
        assert "911222333" not in stored[0]["payload"]  # the phone is kept only as its keyed hash
        assert await conn.fetchval("SELECT count(*) FROM job WHERE kind = 'sync.push'") == 1
    await Worker(sync_runtime).run_until_idle()
    later = T0 + timedelta(days=1)
    payload = body("evt-2", Status.resolved, "9", later, finished_at=later)
    assert (await client.post(f"/onestop/{pusher}/events", content=payload,
                              headers=sign(SECRET, payload))).json()["accepted"] == 1
    await Worker(sync_runtime).run_until_idle()
    async with sync_runtime.db.tenant(pusher) as conn:
        d = await get_dossier(conn, CODE)
        assert d.status == Status.resolved and d.finished_at == later
        assert [(e.kind, e.status) for e in await timeline(conn, d.id)] == [
            ("created", "received"), ("status_changed", "resolved")]
        assert await conn.fetchval("SELECT count(*) FROM webhook_event WHERE processed_at IS NULL") == 0


@pytest.mark.parametrize("case", ["bad signature", "stale timestamp", "no signature"])
async def test_a_rejected_push_gets_401_and_writes_nothing(sync_runtime, pusher, client, case):
    payload = body(f"evt-bad-{case}", Status.returned, "10", T0 + timedelta(days=3))
    headers = {"bad signature": sign("not-the-secret", payload),
               "stale timestamp": sign(SECRET, payload, ts=int(time.time()) - 3600),
               "no signature": {"Content-Type": "application/json"}}[case]
    before = await snapshot(sync_runtime, pusher)
    r = await client.post(f"/onestop/{pusher}/events", content=payload, headers=headers)
    assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")
    assert "Không có gì được ghi nhận" in r.json()["detail"]
    assert await snapshot(sync_runtime, pusher) == before
    async with sync_runtime.db.tenant(pusher) as conn:
        assert await conn.fetchval("SELECT count(*) FROM webhook_event WHERE event_key LIKE 'evt-bad-%'") == 0


async def test_a_signed_but_unreadable_push_is_400(pusher, client):
    payload = b'[{"event_id": 1'
    r = await client.post(f"/onestop/{pusher}/events", content=payload, headers=sign(SECRET, payload))
    assert r.status_code == 400 and "Không đọc được" in r.json()["detail"]


async def test_provinces_that_do_not_push_or_do_not_exist_get_404(apply, client):
    polled = await apply("push-polled", "X42")
    r = await client.post(f"/onestop/{polled}/events", content=b"[]")
    assert r.status_code == 404 and "không đẩy sự kiện" in r.json()["detail"]
    r = await client.post("/onestop/khong-co/events", content=b"[]")
    assert r.status_code == 404 and "khong-co" in r.json()["detail"]


async def test_sync_health_is_served_as_json(apply, sync_runtime, client):
    slug = await apply("health-api", "X43")
    SYSTEMS[slug].put(dossier("000.00.07.X43-251119-0001"))
    await Worker(sync_runtime).run_until_idle()
    r = await client.get(f"/api/v1/tenants/{slug}/sync")
    assert r.status_code == 200
    h = r.json()
    assert (h["mode"], h["healthy"], h["failures"], h["dossiers"], h["quarantined"]) == ("poll", True, 0, 1, 0)
    assert h["lag_seconds"] < 60 and h["last_success_at"]
    assert (await client.get("/api/v1/tenants/khong-co/sync")).status_code == 404


def _args(tenant: str, since: str | None = None) -> argparse.Namespace:
    return argparse.Namespace(command="sync", tenant=tenant, since=since)


async def test_motcua_sync_pulls_now_with_progress_and_a_summary(apply, sync_runtime):
    slug = await apply("cli-sync", "X44")
    for n in range(1, 6):
        SYSTEMS[slug].put(dossier(f"000.00.07.X44-251119-{n:04d}"))
    out, err = io.StringIO(), io.StringIO()
    assert await run_sync(_args(slug), runtime=sync_runtime, out=out, err=err) == 0
    assert "2 page(s), 5 dossier(s) (5 new, 0 changed)" in out.getvalue()
    assert err.getvalue().count("hồ sơ/giây") == 2  # one progress line per page
    out = io.StringIO()
    assert await run_sync(_args(slug, "2025-07-01"), runtime=sync_runtime, out=out, err=io.StringIO()) == 0
    assert "5 dossier(s) (0 new, 0 changed), 0 timeline event(s)" in out.getvalue()  # a backfill replays safely


async def test_motcua_sync_explains_what_went_wrong(apply, sync_runtime):
    slug = await apply("cli-down", "X45")
    err = io.StringIO()
    assert await run_sync(_args("khong-co"), runtime=sync_runtime, out=io.StringIO(), err=err) == 2
    assert "unknown tenant 'khong-co'" in err.getvalue() and "cli-down" in err.getvalue()
    err = io.StringIO()
    assert await run_sync(_args(slug, "01/07/2025"), runtime=sync_runtime, out=io.StringIO(), err=err) == 2
    assert "not a date" in err.getvalue()
    SYSTEMS[slug].down = True
    err = io.StringIO()
    try:
        assert await run_sync(_args(slug), runtime=sync_runtime, out=io.StringIO(), err=err) == 1
    finally:
        SYSTEMS[slug].down = False
    assert "unavailable" in err.getvalue() and "503" in err.getvalue()
