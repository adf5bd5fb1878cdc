"""The staff pages in a real browser (Debian's chromium through Playwright): signing in, answering
a citizen who then gets the answer in Zalo (the simulator's outbox), handling feedback to answered
and published, the KPI dashboard with filters and CSV export, and a broadcast whose progress bar
reaches 100%."""

from __future__ import annotations

import asyncio
import re
import csv
import io
import secrets
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import requires_chromium

from motcua.onestop.codes import normalize_code

from .conftest import DD, TP, open_conversation, outbox, texts

pytestmark = requires_chromium
VN = ZoneInfo("Asia/Ho_Chi_Minh")


async def _until(check, timeout: float = 15.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result or asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(0.3)


async def test_signing_in_through_the_form(page_for, accounts):
    page = await page_for()
    await page.goto("/admin/ca-mau/")
    assert "/login" in page.url  # not signed in: sent to the sign-in page, and back afterwards
    await page.fill("#email", accounts["admin"].email)
    await page.fill("#password", accounts["admin"].password)
    assert await page.input_value("#scope") == "ca-mau"
    await page.click("button[type=submit]")
    await page.wait_for_url(re.compile(r".*/admin/ca-mau/?$"))
    assert await page.text_content("h1") == "Tỉnh Cà Mau"
    assert "Quản trị tỉnh" in await page.text_content("header")


async def test_an_officer_answers_and_the_citizen_receives_it_on_zalo(page_for, accounts, citizen, runtime, http,
                                                                     running_worker):
    who = await citizen("ca-mau", "Cho tôi hỏi làm giấy khai sinh cho con cần những gì?")
    cid = await open_conversation(runtime, "ca-mau", who.citizen_id, "khai sinh")
    page = await page_for(accounts["officer_tp"])
    await page.goto("/inbox/ca-mau/")
    await page.click(f'tr[data-conversation="{cid}"] a')
    await page.wait_for_url(f"**/inbox/ca-mau/c/{cid}")
    assert "làm giấy khai sinh" in await page.text_content("#thread")
    answer = f"Chào ông/bà, hồ sơ khai sinh cần tờ khai và giấy chứng sinh. Mã {secrets.token_hex(3)}"
    await page.fill("#reply", answer)
    await page.click("form[action$='/reply'] button[type=submit]")
    await page.wait_for_selector(".flash")
    assert "Đã trả lời" in await page.text_content("#status")
    received = await _until(lambda: _has(http, who.user_id, answer))
    assert received, "the officer's answer never reached the citizen's Zalo"
    # The citizen writes again: the thread updates without reloading the page.
    follow_up = f"Cảm ơn cán bộ {secrets.token_hex(2)}"
    await citizen("ca-mau", follow_up, user_id=who.user_id)
    await page.wait_for_function(f"document.querySelector('#thread').textContent.includes({follow_up!r})",
                                 timeout=10_000)


async def _has(http, user_id: str, text: str) -> bool:
    return any(text in t for t in texts(await outbox(http, user_id)))


async def test_feedback_is_answered_and_published_without_personal_data(page_for, accounts, citizen, runtime, http,
                                                                        running_worker):
    from motcua.domain.feedback import create_feedback

    who = await citizen("ca-mau", "Tôi muốn phản ánh")
    t = await runtime.tenant("ca-mau")
    title = f"Rác thải ven sông {secrets.token_hex(2)}"
    async with runtime.db.tenant("ca-mau") as conn:
        created = await create_feedback(conn, t, category="moi-truong", title=title, citizen_id=who.citizen_id,
                                         content="Bãi rác ven sông gây mùi. Liên hệ tôi: 0912 345 678.",
                                         channel="zalo", location={"lat": 9.17, "lng": 105.15})
    assert created.agency_code == DD
    page = await page_for(accounts["officer_dd"])
    await page.goto("/inbox/ca-mau/feedback")
    await page.click(f'tr[data-feedback="{created.id}"] a')
    await page.fill("#answer", "Sở đã cử đoàn kiểm tra và yêu cầu thu gom rác trong tuần này.")
    await page.click("form[action$='/answer'] button")
    await page.wait_for_selector(".flash")
    assert await page.text_content("#fb-status") == "Đã trả lời"
    masked = await page.input_value("#public_text")
    assert "0912" not in masked and "[số điện thoại]" in masked
    await page.click("form[action$='/publish'] button")
    await page.wait_for_selector("#fb-published")
    public = await page_for()
    await public.goto("/t/ca-mau/phan-anh")
    item = public.locator(f'article:has-text("{title}")')
    assert await item.count() == 1
    body = await item.text_content()
    assert "thu gom rác" in body and "0912" not in body and "345 678" not in body
    assert await _until(lambda: _has(http, who.user_id, "thu gom rác")), "the answer never reached Zalo"


async def _seed_kpi_data(runtime) -> None:
    """March 2024 in Cà Mau: 4 dossiers resolved at Sở Tư pháp (3 on time, 1 early among them, 1 late),
    1 at Sở Nông nghiệp (on time); 2 of the Tư pháp ones rated, one satisfied."""
    async with runtime.db.tenant("ca-mau") as conn:
        if await conn.fetchval("SELECT 1 FROM dossier WHERE note = 'kpi-seed' LIMIT 1"):
            return
        # Codes in the national form (agency-YYMMDD-sequence), like everything the sync stores.
        rows = [(f"{TP}-240305-9001", TP, "2024-03-05", "2024-03-10", "2024-03-10 10:00", True, 3),
                (f"{TP}-240305-9002", TP, "2024-03-05", "2024-03-12", "2024-03-08 09:00", False, 1),
                (f"{TP}-240306-9001", TP, "2024-03-06", "2024-03-12", "2024-03-12 08:00", True, None),
                (f"{TP}-240306-9002", TP, "2024-03-06", "2024-03-10", "2024-03-15 08:00", False, None),
                (f"{DD}-240307-9001", DD, "2024-03-07", "2024-03-20", "2024-03-19 08:00", True, None)]
        for code, agency, received, due, finished, online, rating in rows:
            def ts(s: str) -> datetime:
                return datetime.fromisoformat(s if " " in s else s + " 08:00").replace(tzinfo=VN)
            did = await conn.fetchval(
                "INSERT INTO dossier (tenant_id, code, code_key, status, raw_status, agency_code, received_at, due_at, "
                "finished_at, online, note) VALUES ('ca-mau', $1, $2, 'resolved', '5', $3, $4, $5, $6, $7, 'kpi-seed') "
                "RETURNING id", code, normalize_code(code), agency, ts(received), ts(due).replace(hour=17), ts(finished),
                online)
            await conn.execute(
                "INSERT INTO dossier_event (tenant_id, dossier_id, kind, status, at, dedupe_key) VALUES "
                "('ca-mau', $1, 'status_changed', 'received', $2, $3), ('ca-mau', $1, 'status_changed', 'resolved', $4, $5)",
                did, ts(received), f"{code}:r", ts(finished), f"{code}:f")
            if rating:
                await conn.execute("INSERT INTO evaluation (tenant_id, dossier_id, rater, overall, created_at) "
                                   "VALUES ('ca-mau', $1, 'citizen:kpi', $2, $3)", did, rating, ts(finished) + timedelta(hours=2))


async def test_kpi_dashboard_filters_and_exports_csv(page_for, accounts, runtime):
    await _seed_kpi_data(runtime)
    page = await page_for(accounts["viewer"])
    assert page.url.endswith("/admin/ca-mau/kpi")
    await page.fill("#start", "2024-03-01")
    await page.fill("#end", "2024-03-31")
    await page.click("#kpi-filter button")
    await page.wait_for_url("**start=2024-03-01**")
    on_time = await page.text_content('[data-kpi="on_time"]')
    assert "4/5" in on_time and "80,0%" in on_time
    assert "3/5" in await page.text_content('[data-kpi="online"]')
    assert "2/5" in await page.text_content('[data-kpi="rating_coverage"]')
    assert "1/2" in await page.text_content('[data-kpi="satisfaction"]')
    assert await page.locator('[data-chart="resolved"] svg rect').count() >= 5
    await page.select_option("#agency", TP)
    await page.click("#kpi-filter button")
    await page.wait_for_url(re.compile(".*agency=" + re.escape(TP)))
    on_time = await page.text_content('[data-kpi="on_time"]')
    assert "3/4" in on_time and "75,0%" in on_time
    assert "1 hồ sơ" in await page.text_content('[data-kpi="early"]')
    async with page.expect_download() as info:
        await page.click("#csv")
    download = await info.value
    text = open(await download.path(), encoding="utf-8-sig").read()
    rows = list(csv.reader(io.StringIO(text)))
    header, data = rows[0], dict(zip(rows[0], rows[1]))
    assert header[0] == "tinh" and data["tinh"] == "ca-mau" and data["co_quan"] == TP
    assert (data["ho_so_da_giai_quyet"], data["dung_han"], data["ty_le_dung_han"]) == ("4", "3", "75.0")
    assert data["tu_ngay"] == "2024-03-01" and data["den_ngay"] == "2024-03-31"


async def test_a_broadcast_reaches_its_followers_with_a_live_progress_bar(page_for, accounts, citizen, runtime, http,
                                                                        running_worker):
    tag = f"bc-{secrets.token_hex(3)}"
    people = [await citizen("ca-mau", f"Xin chào {i}") for i in range(3)]
    async with runtime.db.tenant("ca-mau") as conn:
        for who in people:
            await conn.execute("UPDATE citizen SET following = true, followed_at = now() WHERE id = $1", who.citizen_id)
            await conn.execute("INSERT INTO citizen_tag (tenant_id, tag, citizen_id) VALUES ('ca-mau', $1, $2)",
                               tag, who.citizen_id)
    page = await page_for(accounts["admin"])
    await page.goto("/admin/ca-mau/broadcasts")
    text = f"Thông báo: Trung tâm phục vụ hành chính công làm việc sáng thứ Bảy. {tag}"
    await page.fill("#b-title", "Lịch làm việc thứ Bảy")
    await page.fill("#b-text", text)
    await page.select_option("#b-tags", tag)
    await page.click("form[action$='/broadcasts'] button")
    await page.wait_for_url("**/broadcasts/*")
    await page.wait_for_function("document.querySelector('#progress progress').value >= 100", timeout=20_000)
    assert (await page.text_content("[data-percent]")).strip() == "100%"
    assert (await page.text_content("[data-total]")).strip() == "3"
    for who in people:
        assert await _has(http, who.user_id, tag), "a follower did not get the broadcast"
    async with runtime.db.tenant("ca-mau") as conn:
        n = await conn.fetchval("SELECT count(*) FROM notification WHERE dedupe_key LIKE $1", f"broadcast:%")
        assert n >= 3
