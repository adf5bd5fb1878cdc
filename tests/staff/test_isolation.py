"""An officer of one agency cannot reach another agency's conversations, and an admin of one
province cannot reach anything of another — by page, by API, by ID, or by forged form posts."""

from __future__ import annotations

import httpx

from .conftest import DD, TP, csrf_of, open_conversation


async def _count_out(runtime, tenant: str, cid: int) -> int:
    async with runtime.db.tenant(tenant) as conn:
        return await conn.fetchval("SELECT count(*) FROM message WHERE conversation_id = $1 AND direction <> 'in'", cid)


async def test_an_officer_cannot_open_another_agencys_conversation(client_for, accounts, citizen, runtime):
    who = await citizen("ca-mau", "Xin hỏi thủ tục cấp sổ đỏ")
    cid = await open_conversation(runtime, "ca-mau", who.citizen_id, "cấp sổ đỏ lần đầu")
    async with runtime.db.tenant("ca-mau") as conn:
        assert await conn.fetchval("SELECT agency_code FROM conversation WHERE id = $1", cid) == DD
    tp = await client_for(accounts["officer_tp"])
    dd = await client_for(accounts["officer_dd"])
    assert (await dd.get(f"/inbox/ca-mau/c/{cid}")).status_code == 200
    assert f'data-conversation="{cid}"' in (await dd.get("/inbox/ca-mau/")).text

    assert f'data-conversation="{cid}"' not in (await tp.get("/inbox/ca-mau/")).text
    assert (await tp.get(f"/inbox/ca-mau/c/{cid}")).status_code == 404
    assert (await tp.get(f"/inbox/ca-mau/c/{cid}/messages.json")).status_code == 404
    assert (await tp.get(f"/api/v1/tenants/ca-mau/inbox/conversations/{cid}")).status_code == 404
    assert cid not in [c["id"] for c in (await tp.get("/api/v1/tenants/ca-mau/inbox/conversations")).json()]
    csrf = await csrf_of(tp)
    before = await _count_out(runtime, "ca-mau", cid)
    for action, data in [("reply", {"text": "forged"}), ("note", {"text": "forged"}), ("claim", {}),
                         ("transfer", {"agency_code": TP}), ("close", {})]:
        r = await tp.post(f"/inbox/ca-mau/c/{cid}/{action}", data={"_csrf": csrf, **data})
        assert r.status_code == 404, action
    r = await tp.post(f"/api/v1/tenants/ca-mau/inbox/conversations/{cid}/reply", json={"text": "forged"},
                      headers={"X-CSRF-Token": csrf})
    assert r.status_code == 404
    assert await _count_out(runtime, "ca-mau", cid) == before
    async with runtime.db.tenant("ca-mau") as conn:
        row = await conn.fetchrow("SELECT agency_code, assignee, status FROM conversation WHERE id = $1", cid)
    assert (row["agency_code"], row["assignee"], row["status"]) == (DD, None, "open")


async def test_a_tenant_admin_cannot_see_another_tenants_anything(client_for, accounts, citizen, runtime):
    ag = await citizen("an-giang", "Tôi muốn hỏi về khai sinh")
    ag_cid = await open_conversation(runtime, "an-giang", ag.citizen_id, "khai sinh")
    from motcua.domain.feedback import create_feedback

    t = await runtime.tenant("an-giang")
    async with runtime.db.tenant("an-giang") as conn:
        ag_fid = (await create_feedback(conn, t, category="khac", title="Đèn đường hỏng",
                                        content="Đèn đường trước chợ bị hỏng nhiều ngày", channel="web")).id
    admin = await client_for(accounts["admin"])  # Cà Mau's admin
    csrf = await csrf_of(admin)
    for path in ["/admin/an-giang/", "/admin/an-giang/kpi", "/admin/an-giang/kpi.csv", "/admin/an-giang/users",
                 "/admin/an-giang/audit", "/admin/an-giang/faq", "/admin/an-giang/broadcasts",
                 "/inbox/an-giang/", f"/inbox/an-giang/c/{ag_cid}", f"/inbox/an-giang/feedback/{ag_fid}",
                 "/api/v1/tenants/an-giang/inbox/conversations", f"/api/v1/tenants/an-giang/inbox/feedback/{ag_fid}",
                 "/api/v1/tenants/an-giang/kpi", "/admin/kpi", "/admin/health.json"]:
        assert (await admin.get(path)).status_code == 404, path
    # Another tenant's IDs under our own tenant's URL: RLS hides the row.
    assert (await admin.get(f"/inbox/ca-mau/c/{ag_cid}")).status_code == 404
    assert (await admin.get(f"/inbox/ca-mau/feedback/{ag_fid}")).status_code == 404
    # Forged posts at the other tenant, with our valid CSRF token, change nothing.
    forged = [(f"/inbox/an-giang/c/{ag_cid}/reply", {"text": "forged"}),
              (f"/inbox/ca-mau/c/{ag_cid}/reply", {"text": "forged"}),
              (f"/inbox/an-giang/feedback/{ag_fid}/answer", {"answer": "forged answer"}),
              (f"/inbox/ca-mau/feedback/{ag_fid}/answer", {"answer": "forged answer"}),
              ("/admin/an-giang/users", {"email": "x@y.vn", "name": "X", "role": "admin", "password": "x" * 12}),
              ("/admin/an-giang/settings", {"reply_signature": "forged"}),
              ("/admin/an-giang/broadcasts", {"title": "x", "text": "forged broadcast"})]
    for path, data in forged:
        assert (await admin.post(path, data={"_csrf": csrf, **data})).status_code == 404, path
    async with runtime.db.tenant("an-giang") as conn:
        assert await _count_out(runtime, "an-giang", ag_cid) == 0
        fb = await conn.fetchrow("SELECT status, answer FROM feedback WHERE id = $1", ag_fid)
        assert (fb["status"], fb["answer"]) == ("received", None)
        assert await conn.fetchval("SELECT count(*) FROM staff_user WHERE email = 'x@y.vn'") == 0
        assert await conn.fetchval("SELECT count(*) FROM broadcast") == 0
    # The OAuth connect handler of the Zalo channel sits behind the same rule.
    assert (await admin.get("/admin/an-giang/zalo/connect", follow_redirects=False)).status_code == 404
    async with httpx.AsyncClient(base_url=str(admin.base_url)) as anonymous:
        assert (await anonymous.get("/admin/ca-mau/zalo/connect")).status_code == 401


async def test_the_operator_sees_every_tenant_and_officers_are_read_only_where_they_should_be(client_for, accounts):
    op = await client_for(accounts["operator"])
    health = (await op.get("/admin/health.json")).json()
    assert {"ca-mau", "an-giang", "dong-nai"} <= {h["tenant"] for h in health}
    assert (await op.get("/admin/an-giang/")).status_code == 200
    viewer = await client_for(accounts["viewer"])
    assert (await viewer.get("/admin/ca-mau/kpi")).status_code == 200
    assert (await viewer.get("/admin/ca-mau/users")).status_code == 403
    r = await viewer.post("/admin/ca-mau/broadcasts", data={"_csrf": await csrf_of(viewer), "title": "x", "text": "xxxxxx"})
    assert r.status_code == 403
