"""Talking to the bot in the simulator: procedures, hand-over to a person, my dossiers, stopping
notifications, the city utility plug-in and the menu."""

from __future__ import annotations

import pytest

from motcua.domain.dossiers.lookup import lookup
from motcua.domain.procedures import service as procedures
from motcua.sync.procedures import refresh_procedures

from .conftest import buttons_of, text_of

TENANT = "ca-mau"


@pytest.fixture
async def catalogue(runtime, tenants):
    """The province's procedure catalogue, synced from its one-stop system (the sandbox)."""
    await refresh_procedures(runtime, TENANT)


async def test_search_is_accent_insensitive_typo_tolerant_and_ranked(runtime, catalogue):
    async with runtime.db.tenant(TENANT) as conn:
        for query in ("khai sinh", "KHAI SINH", "khai sính", "khia sinh", "dang ky khai sinh"):
            found = await procedures.search(conn, TENANT, query)
            assert found and found[0].name == "Đăng ký khai sinh", (query, [p.name for p in found])
        assert await procedures.search(conn, TENANT, "zzzz qqqq") == []
        card = await procedures.card(conn, TENANT, "1.001193")
    assert card.papers and card.processing_days is not None


async def test_a_procedure_question_gets_the_procedure_card(phone, catalogue):
    citizen = phone(TENANT)
    replies = await citizen.says("khai sinh can giay to gi")
    text = text_of(replies[0])
    assert "Đăng ký khai sinh" in text
    assert "Giấy tờ cần chuẩn bị" in text and "Giấy chứng sinh" in text
    assert "Thời hạn giải quyết" in text and "Lệ phí" in text and "Nộp trực tuyến" in text


async def test_asking_for_an_officer_opens_a_routed_conversation(phone, runtime, tenants):
    citizen = phone(TENANT)
    replies = await citizen.says("Tôi muốn gặp cán bộ")
    assert "chuyển" in text_of(replies[0]) and "8 giờ" in text_of(replies[0])
    async with runtime.db.tenant(TENANT) as conn:
        conv = await conn.fetchrow(
            """SELECT c.status, c.agency_code, c.deadline_at > now() AS future FROM conversation c
               JOIN citizen z ON z.tenant_id = c.tenant_id AND z.id = c.citizen_id
               WHERE z.zalo_user_id = $1""", citizen.user_id)
    assert conv["status"] == "open" and conv["agency_code"] and conv["future"]


async def test_what_is_not_understood_goes_to_a_person_routed_by_the_tenant_rules(phone, runtime):
    citizen = phone(TENANT)
    replies = await citizen.says("Nhà hàng xóm xây lấn sang đất nhà tôi thì làm sao ạ")
    assert "chuyển đến cán bộ" in text_of(replies[0])
    again = await citizen.says("Xin cán bộ trả lời sớm giúp")  # the officer is on it: no second bot answer
    assert again == []
    async with runtime.db.tenant(TENANT) as conn:
        rows = await conn.fetch(
            """SELECT c.id, c.agency_code, (SELECT count(*) FROM message m WHERE m.tenant_id = c.tenant_id
                                              AND m.conversation_id = c.id AND m.direction = 'in') AS messages
               FROM conversation c JOIN citizen z ON z.tenant_id = c.tenant_id AND z.id = c.citizen_id
               WHERE z.zalo_user_id = $1""", citizen.user_id)
    assert len(rows) == 1
    assert rows[0]["agency_code"] == "000.00.13.H12"  # "đất" -> Sở Nông nghiệp và Môi trường
    assert rows[0]["messages"] >= 1


async def test_my_dossiers_by_the_phone_shared_with_consent(phone, sandbox, runtime):
    citizen = phone(TENANT)
    first = await citizen.says("hồ sơ của tôi")
    assert "chia sẻ số điện thoại" in text_of(first[0])
    await citizen.send("submit_info", info={"name": "Võ Văn Em", "phone": "0913 222 111"})
    d = await sandbox(TENANT).create(procedure_code="1.001193", status="received", applicant_phone="0913222111")
    assert await lookup(runtime, TENANT, d["code"]) is not None
    replies = await citizen.says("ho so cua toi")
    text = text_of(replies[0])
    assert d["code"] in text and "Đã tiếp nhận" in text
    other = phone(TENANT)
    await other.send("submit_info", info={"name": "Người khác", "phone": "0988 000 111"})
    assert d["code"] not in text_of((await other.says("hồ sơ của tôi"))[0])
    # Personal details only to the linked citizen: the applicant's name shows for them alone.
    async with runtime.db.tenant(TENANT) as conn:
        name = await conn.fetchval("SELECT applicant_name FROM dossier WHERE code = $1", d["code"])
    assert name
    assert f"Người nộp: {name}" in text_of((await citizen.says(d["code"]))[0])
    by_code = text_of((await other.says(d["code"]))[0])
    assert d["code"] in by_code and name not in by_code


async def test_stop_notifications(phone, sandbox, runtime, worker):
    control = sandbox(TENANT)
    d = await control.create(procedure_code="1.001193", status="processing")
    citizen = phone(TENANT)
    await citizen.says(d["code"])
    replies = await citizen.says("dung thong bao")
    assert "Đã dừng thông báo" in text_of(replies[0])
    since = await citizen.last_seq()
    await control.move(d["code"], "resolved")
    await lookup(runtime, TENANT, d["code"])
    await worker.run_until_idle()
    assert await citizen.inbox(since) == []


async def test_an_unknown_code_gets_a_kind_answer(phone):
    replies = await phone(TENANT).says("000.00.07.H12-991231-9999")
    assert "Không tìm thấy hồ sơ" in text_of(replies[0])


async def test_a_new_follower_gets_the_menu(phone):
    replies = await phone(TENANT).send("follow")
    assert "Cảm ơn ông/bà đã quan tâm" in text_of(replies[0])
    titles = [b["title"] for b in buttons_of(replies[0])]
    assert {"Tra cứu hồ sơ", "Hồ sơ của tôi", "Gặp cán bộ"} <= set(titles)


async def test_land_prices_in_dong_nai_chat_and_not_where_it_is_off(phone):
    replies = await phone("dong-nai").says("giá đất đường Trần Hưng Đạo")
    text = text_of(replies[0])
    assert "Trần Hưng Đạo" in text and "đ/m²" in text and "dữ liệu mẫu" in text
    elsewhere = await phone(TENANT).says("giá đất đường Trần Hưng Đạo")
    assert "đ/m²" not in text_of(elsewhere[0])


async def test_the_menu_button_for_the_utility_is_offered_where_it_is_on(phone):
    replies = await phone("dong-nai").says("xin chào")
    assert "Giá đất" in [b["title"] for b in buttons_of(replies[0])]


async def test_procedure_search_api(http, catalogue):
    r = await http.get(f"/api/v1/tenants/{TENANT}/procedures", params={"q": "khia sinh"})
    assert r.status_code == 200
    best = r.json()["results"][0]
    assert best["name"] == "Đăng ký khai sinh" and best["papers"] and "ngày" in best["processing_time"]
    card = await http.get(f"/api/v1/tenants/{TENANT}/procedures/{best['code']}")
    assert card.json()["code"] == best["code"] and isinstance(card.json()["online"], bool)
    assert (await http.get(f"/api/v1/tenants/{TENANT}/procedures/9.999999")).status_code == 404
    assert (await http.get(f"/api/v1/tenants/{TENANT}/procedures", params={"q": " "})).status_code == 400


async def test_following_a_dossier_from_the_qr_page(phone, sandbox, runtime):
    d = await sandbox(TENANT).create(procedure_code="1.001193", status="processing")
    citizen = phone(TENANT)
    replies = await citizen.says(f"Theo dõi {d['code']}")  # what the status page asks people to send
    assert d["code"] in text_of(replies[0])
    async with runtime.db.tenant(TENANT) as conn:
        source = await conn.fetchval(
            """SELECT s.source FROM subscription s JOIN citizen c ON c.tenant_id = s.tenant_id AND c.id = s.citizen_id
               WHERE c.zalo_user_id = $1""", citizen.user_id)
    assert source == "qr"


async def test_the_oa_menu_offers_the_main_actions_and_the_tenants_utilities(http, tenants):
    items = (await http.get("/api/v1/tenants/dong-nai/oa-menu")).json()["items"]
    assert [i["title"] for i in items][:4] == ["Tra cứu hồ sơ", "Hồ sơ của tôi", "Thủ tục", "Gặp cán bộ"]
    assert any(i["title"] == "Giá đất" for i in items)
    assert all(i["type"] == "oa.query.show" for i in items)
    assert not any(i["title"] == "Giá đất" for i in (await http.get(f"/api/v1/tenants/{TENANT}/oa-menu")).json()["items"])
