"""Admin console: template preview, FAQ and news through the ORM helper (tenant-bound, audited),
staff accounts, broadcasts in batches that are safe to re-run, and the vendor's cross-tenant view."""

from __future__ import annotations

import secrets

import pytest

from motcua.db.orm import tenant_session
from motcua.jobs.queue import Job
from motcua.jobs.registry import JobContext

from .conftest import csrf_of


async def test_template_preview_renders_with_sample_data(client_for, accounts):
    admin = await client_for(accounts["admin"])
    page = await admin.get("/admin/ca-mau/templates")
    assert page.status_code == 200 and 'data-kind="received"' in page.text
    r = await admin.post("/admin/ca-mau/templates/preview", headers={"Accept": "application/json"},
                         data={"_csrf": await csrf_of(admin), "template": "Hồ sơ {code} hẹn {due}; {unknown}"})
    assert r.json()["text"] == "Hồ sơ 000.00.07.H12-251119-0001 hẹn 25/11/2025; {unknown}"


async def test_faq_crud_is_tenant_bound_and_audited(client_for, accounts, runtime):
    admin = await client_for(accounts["admin"])
    question = f"Làm lại CCCD ở đâu? {secrets.token_hex(2)}"
    r = await admin.post("/admin/ca-mau/faq", data={"_csrf": await csrf_of(admin), "question": question,
                                                     "answer": "Tại công an phường.", "topic": "căn cước",
                                                     "published": "on"})
    assert r.status_code == 303
    async with runtime.db.tenant("ca-mau") as conn:
        row = await conn.fetchrow("SELECT id, search_key FROM faq WHERE question = $1", question)
    assert "can cuoc" in row["search_key"]  # folded for accent-insensitive search
    async with tenant_session(runtime, "an-giang") as s:  # the ORM session sees only its tenant
        from motcua.staff.models import Faq

        assert await s.get(Faq, ("ca-mau", row["id"])) is None
    ag = await client_for(accounts["ag_admin"])
    assert (await ag.post(f"/admin/an-giang/faq/{row['id']}",
                          data={"_csrf": await csrf_of(ag), "delete": "1"})).status_code == 404
    r = await admin.post(f"/admin/ca-mau/faq/{row['id']}", data={"_csrf": await csrf_of(admin), "delete": "1"})
    assert r.status_code == 303
    log = (await admin.get("/admin/ca-mau/audit", params={"entity": "faq"})).text
    assert f'data-audit="create:faq:{row["id"]}"' in log and f'data-audit="delete:faq:{row["id"]}"' in log


async def test_news_needs_a_title_and_http_links(client_for, accounts, runtime):
    admin = await client_for(accounts["admin"])
    csrf = await csrf_of(admin)
    bad = await admin.post("/admin/ca-mau/news", data={"_csrf": csrf, "title": "Tin", "link": "javascript:x"})
    assert bad.status_code == 400
    title = f"Lịch tiếp công dân {secrets.token_hex(2)}"
    ok = await admin.post("/admin/ca-mau/news", data={"_csrf": csrf, "title": title, "summary": "Thứ Năm hằng tuần",
                                                       "link": "https://camau.gov.vn/tin", "published_at": "2025-11-20T08:00"})
    assert ok.status_code == 303
    async with runtime.db.tenant("ca-mau") as conn:
        published = await conn.fetchval("SELECT published_at FROM news WHERE title = $1", title)
    assert published.isoformat().startswith("2025-11-20T01:00")  # 08:00 in Vietnam


async def test_an_admin_creates_an_officer_who_can_sign_in(client_for, accounts, server):
    import httpx

    from .conftest import Account, sign_in

    admin = await client_for(accounts["admin"])
    email = f"moi.{secrets.token_hex(2)}@ca-mau.example.vn"
    bad = await admin.post("/admin/ca-mau/users", data={"_csrf": await csrf_of(admin), "email": email, "name": "Mới",
                                                        "role": "officer", "password": "Mat-khau-moi-2025"})
    assert bad.status_code == 303 and "error=" in bad.headers["location"]  # an officer needs an agency
    r = await admin.post("/admin/ca-mau/users", data={"_csrf": await csrf_of(admin), "email": email, "name": "Mới",
                                                      "role": "officer", "agencies": "000.00.05.H12",
                                                      "password": "Mat-khau-moi-2025"})
    assert "error=" not in r.headers["location"]
    async with httpx.AsyncClient(base_url=server) as c:
        assert (await sign_in(c, Account("ca-mau", email, "Mat-khau-moi-2025"))).headers["location"] == "/inbox/ca-mau/"


async def test_broadcast_batches_resume_and_never_duplicate(runtime, tenants, monkeypatch):
    from motcua.domain import broadcasts
    from motcua.domain.auth.principal import Principal
    from motcua.domain.broadcasts import service

    tag = f"batch-{secrets.token_hex(2)}"
    async with runtime.db.tenant("dong-nai") as conn:
        ids = []
        for i in range(7):
            ids.append(await conn.fetchval(
                "INSERT INTO citizen (tenant_id, oa_id, zalo_user_id, following, last_interaction_at) "
                "VALUES ('dong-nai', 'oa', $1, true, now()) RETURNING id", f"bc-{tag}-{i}"))
            await conn.execute("INSERT INTO citizen_tag (tenant_id, tag, citizen_id) VALUES ('dong-nai', $1, $2)", tag,
                               ids[-1])
        admin = Principal(kind="staff", id=0, email="a@x.vn", name="A", role="admin", tenant="dong-nai")
        bid = await broadcasts.create_broadcast(conn, admin, "dong-nai", title="T", text="Thông báo thử", tags=[tag])
    monkeypatch.setattr(service, "BATCH", 3)

    async def run_one(payload):
        async with runtime.db.tenant("dong-nai") as conn:
            await service.run_broadcast(Job("dong-nai", 0, "broadcasts.run", payload, 1, 8),
                                        JobContext(runtime=runtime, conn=conn, tenant_id="dong-nai"))

    for _ in range(5):  # more runs than batches: the finished broadcast ignores the extra ones
        await run_one({"broadcast_id": bid})
    async with runtime.db.tenant("dong-nai") as conn:
        keys = [r["dedupe_key"] for r in await conn.fetch(
            "SELECT dedupe_key FROM job WHERE kind = 'broadcasts.run' AND payload->>'broadcast_id' = $1", str(bid))]
        assert sorted(keys) == [f"broadcast:{bid}:from:{c}" for c in (0, ids[2], ids[5])]
        # A batch replayed after a crash (cursor lost, status not yet done) creates nothing twice.
        await conn.execute("UPDATE broadcast SET status = 'running', cursor = 0 WHERE id = $1", bid)
    for _ in range(3):
        await run_one({"broadcast_id": bid})
    async with runtime.db.tenant("dong-nai") as conn:
        b = await conn.fetchrow("SELECT status, total FROM broadcast WHERE id = $1", bid)
        n = await conn.fetchval("SELECT count(*) FROM notification WHERE dedupe_key LIKE $1", f"broadcast:{bid}:%")
        prog = await broadcasts.progress(conn, "dong-nai", bid)
    assert (b["status"], b["total"], n) == ("done", 7, 7)
    assert prog["total"] == 7 and prog["queued"] == 7 and prog["percent"] == 0.0  # nothing sent yet: no worker
    async with runtime.db.tenant("dong-nai") as conn:  # these followers are fictitious: send nothing
        await conn.execute("DELETE FROM job WHERE (kind = 'broadcasts.run' AND payload->>'broadcast_id' = $1) OR "
                           "(kind = 'zalo.send' AND (payload->>'notification_id')::bigint IN (SELECT id FROM notification "
                           "WHERE dedupe_key LIKE $2))", str(bid), f"broadcast:{bid}:%")


async def test_the_operator_sees_kpis_across_tenants_one_tenant_at_a_time(client_for, accounts):
    op = await client_for(accounts["operator"])
    page = await op.get("/admin/kpi", params={"start": "2024-03-01", "end": "2024-03-31"})
    assert page.status_code == 200
    for slug in ("ca-mau", "an-giang", "dong-nai"):
        assert f'data-tenant="{slug}"' in page.text
    csv_text = (await op.get("/admin/kpi.csv", params={"start": "2024-03-01", "end": "2024-03-31"})).text
    lines = csv_text.strip().splitlines()
    assert lines[0].lstrip("\ufeff").startswith("tinh,") and lines[-1].startswith("*,")
    bad = await op.get("/admin/kpi", params={"start": "2024-04-01", "end": "2024-03-01"})
    assert bad.status_code == 400 and "trước ngày kết thúc" in bad.text


async def test_runtime_settings_switch_the_public_page_and_sign_replies(client_for, accounts, http, runtime, citizen):
    from .conftest import open_conversation, outbox, texts

    ag = await client_for(accounts["ag_admin"])
    csrf = await csrf_of(ag)
    assert (await http.get("/t/an-giang/phan-anh")).status_code == 404  # off in An Giang's file
    form = {"_csrf": csrf, "public_feedback_page": ["off", "on"], "reply_signature": "Sở Tư pháp An Giang"}
    assert (await ag.post("/admin/an-giang/settings", data=form)).status_code == 303
    assert (await http.get("/t/an-giang/phan-anh")).status_code == 200
    who = await citizen("an-giang", "Hỏi về chứng thực")
    cid = await open_conversation(runtime, "an-giang", who.citizen_id, "chứng thực")
    r = await ag.post(f"/api/v1/tenants/an-giang/inbox/conversations/{cid}/reply", json={"text": "Mời ông/bà đến UBND xã."},
                      headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201
    from motcua.worker import Worker

    await Worker(runtime).run_until_idle()
    assert any("Mời ông/bà đến UBND xã.\n— Sở Tư pháp An Giang" in t for t in texts(await outbox(http, who.user_id)))
    form = {"_csrf": csrf, "public_feedback_page": "off", "reply_signature": ""}
    assert (await ag.post("/admin/an-giang/settings", data=form)).status_code == 303
    assert (await http.get("/t/an-giang/phan-anh")).status_code == 404
