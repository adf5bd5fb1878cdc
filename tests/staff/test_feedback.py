"""The feedback service that chat, Mini App and web share: validation, routing, deadlines,
status rules, publication without personal data, and the public web form."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

import pytest

from motcua.domain.auth.principal import Principal
from motcua.domain.feedback import FeedbackError, answer, create_feedback, mask_personal_data, publish, set_status

from .conftest import DD


def officer(email: str, agencies: tuple[str, ...]) -> Principal:
    return Principal(kind="staff", id=0, email=email, name="Cán bộ", role="officer", tenant="ca-mau", agencies=agencies)


@pytest.mark.parametrize("kwargs,message", [
    ({"category": "khong-co", "content": "Nội dung đủ dài để gửi"}, "Lĩnh vực"),
    ({"category": "dat-dai", "content": "ngắn"}, "rõ hơn"),
    ({"category": "dat-dai", "content": "Nội dung đủ dài để gửi", "photos": ["x"] * 6}, "tối đa 5"),
    ({"category": "dat-dai", "content": "Nội dung đủ dài để gửi", "photos": ["javascript:alert(1)"]}, "ảnh"),
    ({"category": "dat-dai", "content": "Nội dung đủ dài để gửi", "location": {"lat": 200, "lng": 1}}, "Vị trí"),
])
async def test_bad_feedback_is_refused_and_nothing_is_written(runtime, tenants, kwargs, message):
    t = await runtime.tenant("ca-mau")
    async with runtime.db.tenant("ca-mau") as conn:
        before = await conn.fetchval("SELECT count(*) FROM feedback")
        with pytest.raises(FeedbackError, match=message):
            await create_feedback(conn, t, title=None, channel="web", **kwargs)
        assert await conn.fetchval("SELECT count(*) FROM feedback") == before


async def test_feedback_is_routed_by_category_or_words_and_due_in_the_sla(runtime, tenants):
    t = await runtime.tenant("ca-mau")
    async with runtime.db.tenant("ca-mau") as conn:
        by_category = await create_feedback(conn, t, category="Đất đai", title="", channel="miniapp",
                                            content="Xin hỏi về việc cấp giấy chứng nhận")
        by_words = await create_feedback(conn, t, category="khac", title="Sổ đỏ", channel="web",
                                         content="Tôi chờ cấp so do da lau")  # no accents: still routed
        created = await conn.fetchval("SELECT created_at FROM feedback WHERE id = $1", by_category.id)
    assert by_category.agency_code == DD and by_words.agency_code == DD
    assert by_category.due_at - created == timedelta(days=10)  # sla.feedback_days


async def test_status_rules_and_publication(runtime, tenants):
    t = await runtime.tenant("ca-mau")
    me = officer("dd@ca-mau.example.vn", (DD,))
    other = officer("tp@ca-mau.example.vn", ("000.00.07.H12",))
    async with runtime.db.tenant("ca-mau") as conn:
        fb = await create_feedback(conn, t, category="moi-truong", title="Khói nhà máy", channel="web",
                                   content="Nhà máy xả khói đen. SĐT 0987654321, email a.b@gmail.com, CCCD 096123456789",
                                   contact={"name": "Lê Văn C", "phone": "0987654321"})
        with pytest.raises(FeedbackError, match="đã có trả lời"):
            await publish(conn, me, t, fb.id)
        with pytest.raises(FeedbackError, match="lý do"):
            await set_status(conn, me, t, fb.id, "rejected")
        from motcua.domain.feedback import NotVisible

        with pytest.raises(NotVisible):  # another agency's officer
            await answer(conn, runtime, other, t, fb.id, "Không phải việc của tôi")
        await set_status(conn, me, t, fb.id, "processing")
        await answer(conn, runtime, me, t, fb.id, "Đã kiểm tra và xử phạt nhà máy.")
        await publish(conn, me, t, fb.id)
        row = await conn.fetchrow("SELECT status, published, public_text FROM feedback WHERE id = $1", fb.id)
    assert row["status"] == "answered" and row["published"]
    for secret in ("0987654321", "a.b@gmail.com", "096123456789"):
        assert secret not in row["public_text"]


def test_masking_personal_data():
    text = mask_personal_data("Gọi 0912.345.678 hoặc +84 912 345 678, mail x@y.vn, CCCD 012345678901")
    assert not re.search(r"\d{3}", text.replace("84", "")) or "[số" in text
    assert "x@y.vn" not in text and "012345678901" not in text and "345" not in text


async def test_the_public_web_form_creates_routed_feedback(http, runtime, tenants):
    page = await http.get("/t/ca-mau/phan-anh/gui")
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    title = f"Ngập nước {secrets.token_hex(2)}"
    r = await http.post("/t/ca-mau/phan-anh/gui", data={"token": token, "category": "moi-truong", "title": title,
                                                        "content": "Đường Trần Hưng Đạo ngập sau mưa", "phone": "0911111111"})
    assert r.status_code == 200 and "đã được tiếp nhận" in r.text
    async with runtime.db.tenant("ca-mau") as conn:
        row = await conn.fetchrow("SELECT channel, agency_code, data FROM feedback WHERE title = $1", title)
    assert row["channel"] == "web" and row["agency_code"] == DD and row["data"]["contact"]["phone"] == "0911111111"
    bad = await http.post("/t/ca-mau/phan-anh/gui", data={"token": token, "category": "moi-truong", "content": "x"})
    assert bad.status_code == 400 and "ít nhất 10 ký tự" in bad.text


async def test_the_public_page_is_off_when_the_tenant_disables_it(http, tenants):
    assert not tenants["an-giang"].file.features.public_feedback_page
    assert (await http.get("/t/an-giang/phan-anh")).status_code == 404
    assert (await http.get("/t/ca-mau/phan-anh")).status_code == 200
