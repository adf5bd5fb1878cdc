"""Inbox behaviour over HTTP: routing and deadlines, claim/transfer/escalate/notes in the audit
log, replies that are safe to resubmit, and the ZNS "answer waiting" fallback when the citizen's
reply window has closed."""

from __future__ import annotations

import secrets

from motcua.worker import Worker

from .conftest import DD, TP, csrf_of, open_conversation, outbox, texts


async def test_replies_after_the_window_closed_reach_the_citizen_by_zns(client_for, accounts, citizen, runtime, http,
                                                                        tenants):
    who = await citizen("ca-mau", "Tôi cần hỏi về lý lịch tư pháp")
    phone = "09" + str(secrets.randbelow(10**8)).zfill(8)
    r = await http.post("/sim/api/send", json={"tenant": "ca-mau", "type": "submit_info", "user_id": who.user_id,
                                               "phone": phone, "name": "Trần Thị B"})
    assert r.status_code == 200 and r.json()["delivered"]
    await Worker(runtime).run_until_idle()
    cid = await open_conversation(runtime, "ca-mau", who.citizen_id, "lý lịch tư pháp")
    async with runtime.db.tenant("ca-mau") as conn:
        assert await conn.fetchval("SELECT phone_key IS NOT NULL FROM citizen WHERE id = $1", who.citizen_id)
        # Eight days without a word from the citizen: Zalo no longer accepts a consultation message.
        await conn.execute("UPDATE citizen SET last_interaction_at = now() - interval '8 days' WHERE id = $1",
                           who.citizen_id)
    officer = await client_for(accounts["officer_tp"])
    page = await officer.get(f"/inbox/ca-mau/c/{cid}")
    assert "quá 7 ngày" in page.text  # the officer is told how the answer will travel
    r = await officer.post(f"/api/v1/tenants/ca-mau/inbox/conversations/{cid}/reply",
                           json={"text": "Ông/bà nộp tờ khai tại bộ phận một cửa Sở Tư pháp."},
                           headers={"X-CSRF-Token": await csrf_of(officer)})
    assert r.status_code == 201
    await Worker(runtime).run_until_idle()
    template = tenants["ca-mau"].file.zalo.zns_templates["answer_waiting"]
    sent = [m for m in (await http.get("/sim/api/outbox", params={"channel": "zns", "phone": phone})).json()]
    assert [m["template_id"] for m in sent] == [template]
    async with runtime.db.tenant("ca-mau") as conn:
        n = await conn.fetchrow("SELECT channel, status FROM notification WHERE dedupe_key LIKE $1",
                                f"inbox:{cid}:%")
    assert n["channel"] == "zns" and n["status"] in ("sent", "delivered")


async def test_resubmitting_a_reply_form_sends_once(client_for, accounts, citizen, runtime, http):
    who = await citizen("ca-mau", "Kết hôn cần giấy gì ạ?")
    cid = await open_conversation(runtime, "ca-mau", who.citizen_id, "kết hôn")
    officer = await client_for(accounts["officer_tp"])
    form = {"_csrf": await csrf_of(officer), "nonce": secrets.token_hex(8),
            "text": f"Cần CCCD và giấy xác nhận tình trạng hôn nhân {secrets.token_hex(2)}"}
    for _ in range(3):  # a double click, then the browser's "resend form"
        assert (await officer.post(f"/inbox/ca-mau/c/{cid}/reply", data=form)).status_code == 303
    await Worker(runtime).run_until_idle()
    assert sum(form["text"] in t for t in texts(await outbox(http, who.user_id))) == 1


async def test_claim_note_escalate_transfer_are_audited_and_move_the_conversation(client_for, accounts, citizen,
                                                                                  runtime):
    who = await citizen("ca-mau", "Hỏi về chứng thực bản sao")
    cid = await open_conversation(runtime, "ca-mau", who.citizen_id, "chứng thực")
    async with runtime.db.tenant("ca-mau") as conn:
        row = await conn.fetchrow("SELECT agency_code, deadline_at - created_at AS sla FROM conversation WHERE id = $1", cid)
    assert row["agency_code"] == TP and abs(row["sla"].total_seconds() - 8 * 3600) < 5  # sla.question_hours = 8
    officer = await client_for(accounts["officer_tp"])
    csrf = await csrf_of(officer)
    base = f"/inbox/ca-mau/c/{cid}"
    assert (await officer.post(f"{base}/claim", data={"_csrf": csrf})).status_code == 303
    assert (await officer.post(f"{base}/note", data={"_csrf": csrf, "text": "Cần hỏi pháp chế"})).status_code == 303
    r = await officer.post(f"{base}/escalate", data={"_csrf": csrf, "specialist": accounts["specialist"].email,
                                                     "note": "câu hỏi khó"})
    assert r.status_code == 303
    specialist = await client_for(accounts["specialist"])
    thread = (await specialist.get(f"/api/v1/tenants/ca-mau/inbox/conversations/{cid}")).json()
    assert thread["assignee"] == accounts["specialist"].email
    assert [m["direction"] for m in thread["messages"]].count("note") == 2
    # Notes never reach the citizen; a transfer hands it to the other agency.
    r = await specialist.post(f"{base}/transfer", data={"_csrf": await csrf_of(specialist), "agency_code": DD})
    assert r.status_code == 303
    assert (await specialist.get(base)).status_code == 404  # no longer theirs
    dd = await client_for(accounts["officer_dd"])
    assert (await dd.get(base)).status_code == 200
    admin = await client_for(accounts["admin"])
    log = (await admin.get("/admin/ca-mau/audit", params={"entity": "conversation"})).text
    for action in ("claim", "note", "escalate", "transfer"):
        assert f'data-audit="{action}:conversation:{cid}"' in log
    async with runtime.db.tenant("ca-mau") as conn:
        assert await conn.fetchval("SELECT count(*) FROM notification WHERE citizen_id = $1 AND body->>'text' LIKE "
                                   "'%pháp chế%'", who.citizen_id) == 0


async def test_overdue_conversations_are_highlighted(client_for, accounts, citizen, runtime):
    who = await citizen("ca-mau", "Hỏi về đăng ký khai sinh quá hạn")
    cid = await open_conversation(runtime, "ca-mau", who.citizen_id, "khai sinh")
    async with runtime.db.tenant("ca-mau") as conn:
        await conn.execute("UPDATE conversation SET deadline_at = now() - interval '1 hour' WHERE id = $1", cid)
    officer = await client_for(accounts["officer_tp"])
    rows = (await officer.get("/inbox/ca-mau/rows")).text
    row = rows.split(f'data-conversation="{cid}"')[0].rsplit("<tr", 1)[1]
    assert 'class="overdue"' in row
